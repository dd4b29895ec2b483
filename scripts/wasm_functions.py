"""A wasm module's functions, read from the binary: what the profiling scripts need to
name V8's `wasm-function[N]` frames and to size what V8 compiles."""


def wasm_functions(path):
    """(number of imported functions, body sizes by defined index, names by index)."""
    data = open(path, "rb").read()

    def leb(i):
        result = shift = 0
        while True:
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, i

    def limits(i):
        flags, i = leb(i)
        _, i = leb(i)
        if flags & 1:
            _, i = leb(i)
        return i

    imports, sizes, names, i = 0, [], {}, 8
    while i < len(data):
        section = data[i]
        length, i = leb(i + 1)
        end = i + length
        if section == 2:
            count, j = leb(i)
            for _ in range(count):
                for _ in range(2):
                    n, j = leb(j)
                    j += n
                kind = data[j]
                j += 1
                if kind == 0:
                    _, j = leb(j)
                    imports += 1
                elif kind == 1:
                    j = limits(j + 1)
                elif kind == 2:
                    j = limits(j)
                elif kind == 3:
                    j += 2
                elif kind == 4:
                    _, j = leb(j + 1)
        elif section == 10:
            count, j = leb(i)
            for _ in range(count):
                size, j = leb(j)
                sizes.append(size)
                j += size
        elif section == 0:
            n, j = leb(i)
            if data[j : j + n] == b"name":
                j += n
                while j < end:
                    kind = data[j]
                    sub_length, j = leb(j + 1)
                    if kind == 1:
                        count, k = leb(j)
                        for _ in range(count):
                            index, k = leb(k)
                            n, k = leb(k)
                            names[index] = data[k : k + n].decode("utf-8", "replace")
                            k += n
                    j += sub_length
        i = end
    return imports, sizes, names
