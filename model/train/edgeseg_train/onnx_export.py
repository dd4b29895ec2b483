"""Writes the student as a plain ONNX graph (MatMul/Add/Relu, Sigmoid and Softmax heads) that tract runs."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT, INTENT, SEGMENT = "features", "intent", "segment"


def student_to_onnx(student, width: int) -> onnx.ModelProto:
    k = student.ws.shape[1]
    inits, nodes = [], []

    def constant(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    previous = INPUT
    for i, (w, b) in enumerate(zip(student.w, student.b)):
        nodes += [helper.make_node("MatMul", [previous, constant(f"w{i}", w)], [f"mm{i}"]),
                  helper.make_node("Add", [f"mm{i}", constant(f"b{i}", b)], [f"pre{i}"]),
                  helper.make_node("Relu", [f"pre{i}"], [f"h{i}"])]
        previous = f"h{i}"
    nodes += [helper.make_node("MatMul", [previous, constant("w_intent", student.wi)], ["mm_intent"]),
              helper.make_node("Add", ["mm_intent", constant("b_intent", student.bi)], ["logit_intent"]),
              helper.make_node("Sigmoid", ["logit_intent"], [INTENT]),
              helper.make_node("MatMul", [previous, constant("w_segment", student.ws)], ["mm_segment"]),
              helper.make_node("Add", ["mm_segment", constant("b_segment", student.bs)], ["logit_segment"]),
              helper.make_node("Softmax", ["logit_segment"], [SEGMENT], axis=-1)]
    graph = helper.make_graph(
        nodes, "edgeseg_intent_student",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info(INTENT, TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info(SEGMENT, TensorProto.FLOAT, ["N", k])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="edgeseg-pipeline", producer_version="1")
    model.ir_version = 7  # readable by older runtimes (tract, onnxruntime) as well as new ones
    onnx.checker.check_model(model)
    return model


def run_onnx(model_bytes: bytes, inputs: np.ndarray):
    """onnxruntime on one thread: the outputs written as golden vectors."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    intent, segment = session.run([INTENT, SEGMENT], {INPUT: np.asarray(inputs, dtype=np.float32)})
    return intent, segment
