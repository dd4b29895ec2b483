//! The KV namespace through `wrangler kv`: the only way the CLI touches Cloudflare, so
//! it uses wrangler's own login and account, and the same local store `wrangler dev`
//! serves from.
//!
//! wrangler 4 defaults `kv` commands to the local store, so a call without `--local`
//! passes `--remote`: "no `--local`" always means the real account.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;

/// What `wrangler kv key get` prints (on stdout, exit 0) for a missing key in the local
/// store. Remote reads of a missing key fail instead, with the API's 404.
const LOCAL_MISSING: &[u8] = b"Value not found";
const REMOTE_MISSING: &str = "404: Not Found";

/// What workerd prints when the local store's SQLite file is locked by another process.
const LOCKED: &str = "SQLITE_BUSY";
/// How often a locked local call is tried, and the pauses between (doubling): about
/// 5 s of pauses in all, far longer than a `wrangler dev` write holds the lock.
const LOCKED_ATTEMPTS: u32 = 7;
const LOCKED_FIRST_PAUSE: Duration = Duration::from_millis(100);
const LOCKED_MAX_PAUSE: Duration = Duration::from_secs(2);

/// Where the KV namespace is: shared by `publish`, `promote`, `rollback` and `status`.
#[derive(Args, Debug, Clone)]
pub struct KvArgs {
    /// Use wrangler's local store (what `wrangler dev --local` serves). Without it (and
    /// without --persist-to) every call passes --remote and goes to the real account,
    /// with wrangler's own login (wrangler 4 would otherwise default to the local store).
    #[arg(long)]
    pub local: bool,
    /// Directory of the local store (implies --local).
    #[arg(long, value_name = "DIR")]
    pub persist_to: Option<PathBuf>,
    /// wrangler configuration file (default: wrangler's own lookup from the current
    /// directory).
    #[arg(long, value_name = "WRANGLER_TOML")]
    pub config: Option<PathBuf>,
    /// The wrangler executable (default: $WRANGLER, else `wrangler` on PATH).
    #[arg(long, value_name = "PATH")]
    pub wrangler: Option<PathBuf>,
    /// KV binding name in the wrangler configuration.
    #[arg(long, value_name = "NAME", default_value = "EDGESEG_KV")]
    pub binding: String,
}

/// One KV namespace as wrangler reaches it.
#[derive(Debug, Clone)]
pub struct Wrangler {
    program: PathBuf,
    binding: String,
    local: bool,
    persist_to: Option<PathBuf>,
    config: Option<PathBuf>,
    /// The first pause before a locked local call is tried again.
    locked_pause: Duration,
}

impl Wrangler {
    pub fn from_args(args: &KvArgs) -> Wrangler {
        let program = args
            .wrangler
            .clone()
            .or_else(|| {
                std::env::var_os("WRANGLER")
                    .filter(|w| !w.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("wrangler"));
        Wrangler {
            program,
            binding: args.binding.clone(),
            local: args.local || args.persist_to.is_some(),
            persist_to: args.persist_to.clone(),
            config: args.config.clone(),
            locked_pause: LOCKED_FIRST_PAUSE,
        }
    }

    pub fn is_local(&self) -> bool {
        self.local
    }

    /// Where writes go, for messages.
    pub fn location(&self) -> String {
        match (&self.local, &self.persist_to) {
            (true, Some(dir)) => format!("local store {}", dir.display()),
            (true, None) => "local store".into(),
            (false, _) => "the Cloudflare account".into(),
        }
    }

    /// `wrangler kv <args> --binding B [--local [--persist-to DIR] | --remote] [--config C]`.
    pub fn args(&self, args: &[OsString]) -> Vec<OsString> {
        let mut all: Vec<OsString> = vec!["kv".into()];
        all.extend(args.iter().cloned());
        all.push("--binding".into());
        all.push(self.binding.clone().into());
        if self.local {
            all.push("--local".into());
            if let Some(dir) = &self.persist_to {
                all.push("--persist-to".into());
                all.push(dir.clone().into());
            }
        } else {
            all.push("--remote".into());
        }
        if let Some(config) = &self.config {
            all.push("--config".into());
            all.push(config.clone().into());
        }
        all
    }

    fn command(&self, args: &[OsString]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(self.args(args))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_TELEMETRY_DISABLED", "1")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs one `wrangler kv` command. On the local store a call that found the SQLite
    /// file locked (a running `wrangler dev` writes to the same file) is run again after
    /// a pause: every call here is idempotent, and the lock is held only for a write.
    fn run(&self, args: &[OsString]) -> Result<Output> {
        let mut pause = self.locked_pause;
        let mut attempts = 1;
        loop {
            let output = self.run_once(args)?;
            if output.success || !self.local || !output.says(LOCKED) || attempts == LOCKED_ATTEMPTS
            {
                return Ok(output);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(LOCKED_MAX_PAUSE);
            attempts += 1;
        }
    }

    fn run_once(&self, args: &[OsString]) -> Result<Output> {
        let what = describe(args);
        let output = self.command(args).output().with_context(|| {
            format!(
                "running {} (set --wrangler or $WRANGLER)",
                self.program.display()
            )
        })?;
        Ok(Output {
            what,
            success: output.status.success(),
            code: output.status.code(),
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    fn run_ok(&self, args: &[OsString]) -> Result<Vec<u8>> {
        let output = self.run(args)?;
        output.check()?;
        Ok(output.stdout)
    }

    /// The value of `key`, `None` when the namespace has no such key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let output = self.run(&[os("key"), os("get"), os(key)])?;
        if output.success {
            // A stored value equal to the message is indistinguishable; none of ours is.
            if output.stdout.trim_ascii_end() == LOCAL_MISSING {
                return Ok(None);
            }
            return Ok(Some(output.stdout));
        }
        if output.says(REMOTE_MISSING) {
            return Ok(None);
        }
        output.check()?;
        Ok(None)
    }

    /// Writes a text value (a pointer, an audit record).
    pub fn put(&self, key: &str, value: &str) -> Result<()> {
        self.run_ok(&[os("key"), os("put"), os(key), os(value)])
            .map(drop)
    }

    /// Writes the bytes of a file, unchanged.
    pub fn put_path(&self, key: &str, path: &Path) -> Result<()> {
        self.run_ok(&[
            os("key"),
            os("put"),
            os(key),
            os("--path"),
            path.as_os_str().to_owned(),
        ])
        .map(drop)
    }

    /// Removes `key` (a missing key is no error).
    pub fn delete(&self, key: &str) -> Result<()> {
        self.run_ok(&[os("key"), os("delete"), os(key)]).map(drop)
    }

    /// Every key starting with `prefix`, with its metadata (wrangler follows the pages).
    pub fn list(&self, prefix: &str) -> Result<Vec<ListedKey>> {
        let stdout = self.run_ok(&[os("key"), os("list"), os("--prefix"), os(prefix)])?;
        serde_json::from_slice(&stdout).with_context(|| {
            format!(
                "`wrangler kv key list` printed no key list: {}",
                plain(&stdout)
            )
        })
    }

    /// `wrangler kv bulk put FILE`: a JSON array of `{key, value, base64}`.
    pub fn bulk_put(&self, file: &Path) -> Result<()> {
        self.run_ok(&[os("bulk"), os("put"), file.as_os_str().to_owned()])
            .map(drop)
    }
}

/// One key of `wrangler kv key list`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ListedKey {
    pub name: String,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

fn os(text: &str) -> OsString {
    OsString::from(text)
}

/// `wrangler kv key get channels/x`, for messages (values are left out: they can be long).
fn describe(args: &[OsString]) -> String {
    let shown: Vec<String> = args
        .iter()
        .take(3)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("wrangler kv {}", shown.join(" "))
}

/// wrangler's output without colours and blank lines, for an error message.
fn plain(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e).
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

struct Output {
    what: String,
    success: bool,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Output {
    /// Whether stderr or stdout contains `text`.
    fn says(&self, text: &str) -> bool {
        [&self.stderr, &self.stdout]
            .iter()
            .any(|bytes| String::from_utf8_lossy(bytes).contains(text))
    }

    fn check(&self) -> Result<()> {
        if self.success {
            return Ok(());
        }
        let stderr = plain(&self.stderr);
        let said = if stderr.is_empty() {
            plain(&self.stdout)
        } else {
            stderr
        };
        let status = self
            .code
            .map_or_else(|| "killed by a signal".to_string(), |c| format!("exit {c}"));
        anyhow::bail!("`{}` failed ({status}): {said}", self.what)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A scratch directory removed at drop.
    pub struct Scratch(pub PathBuf);

    impl Scratch {
        pub fn new(tag: &str) -> Scratch {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "edgeseg-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch dir");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A fake wrangler: a shell script over a directory-backed KV store. Every call's
    /// arguments are appended (one per line, then `--`) to `calls.log`; `kv key get`
    /// prints the stored value or `Value not found`; `put` stores the value or the file
    /// at `--path`; `key delete` removes it; `key list` prints `list.json` (or `[]`);
    /// `bulk put` copies the JSON file to `bulk-N.json` (the test decodes
    /// it) and stores nothing. With a file `fail` present, every call fails with its
    /// content on stderr; with a number N in `busy`, the next N calls fail as a locked
    /// local store does.
    pub struct FakeWrangler {
        pub dir: Scratch,
    }

    const SCRIPT: &str = r#"#!/bin/sh
d="$(dirname "$0")"
for a in "$@"; do printf '%s\n' "$a" >> "$d/calls.log"; done
echo -- >> "$d/calls.log"
env | grep -E '^(WRANGLER_SEND_METRICS|CLOUDFLARE_TELEMETRY_DISABLED|WRANGLER_SEND_ERROR_REPORTS)=' | sort > "$d/env.log"
if [ -f "$d/fail" ]; then cat "$d/fail" >&2; exit 1; fi
if [ -s "$d/busy" ]; then
  n=$(cat "$d/busy"); echo $((n - 1)) > "$d/busy"
  if [ "$n" -gt 0 ]; then echo "database is locked: SQLITE_BUSY" >&2; exit 1; fi
fi
mkdir -p "$d/kv"
enc() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
case "$2 $3" in
  "key get")
    f="$d/kv/$(enc "$4")"
    if [ -f "$f" ]; then cat "$f"; else echo "Value not found"; fi ;;
  "key put")
    f="$d/kv/$(enc "$4")"
    if [ "$5" = "--path" ]; then cp "$6" "$f"; else printf '%s' "$5" > "$f"; fi
    echo "Writing the value" >&2 ;;
  "key delete")
    rm -f "$d/kv/$(enc "$4")" ;;
  "key list")
    if [ -f "$d/list.json" ]; then cat "$d/list.json"; else echo "[]"; fi ;;
  "bulk put")
    n=$(ls "$d" | grep -c '^bulk-')
    cp "$4" "$d/bulk-$n.json"
    echo "Success!" ;;
  *) echo "fake wrangler: unknown command $*" >&2; exit 2 ;;
esac
"#;

    impl FakeWrangler {
        pub fn new() -> FakeWrangler {
            let dir = Scratch::new("fake-wrangler");
            let path = dir.0.join("wrangler");
            std::fs::write(&path, SCRIPT).expect("write fake wrangler");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod fake wrangler");
            }
            FakeWrangler { dir }
        }

        pub fn program(&self) -> PathBuf {
            self.dir.0.join("wrangler")
        }

        pub fn kv_args(&self) -> KvArgs {
            KvArgs {
                local: true,
                persist_to: Some(self.dir.0.join("state")),
                config: None,
                wrangler: Some(self.program()),
                binding: "EDGESEG_KV".into(),
            }
        }

        pub fn wrangler(&self) -> Wrangler {
            Wrangler {
                locked_pause: Duration::from_millis(1),
                ..Wrangler::from_args(&self.kv_args())
            }
        }

        /// Each call's arguments.
        pub fn calls(&self) -> Vec<Vec<String>> {
            let log = std::fs::read_to_string(self.dir.0.join("calls.log")).unwrap_or_default();
            let mut calls = vec![];
            let mut current = vec![];
            for line in log.lines() {
                if line == "--" {
                    calls.push(std::mem::take(&mut current));
                } else {
                    current.push(line.to_string());
                }
            }
            calls
        }

        /// What the fake store holds under `key`.
        pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
            std::fs::read(self.dir.0.join("kv").join(hex::encode(key))).ok()
        }

        pub fn store(&self, key: &str, value: &[u8]) {
            let kv = self.dir.0.join("kv");
            std::fs::create_dir_all(&kv).expect("kv dir");
            std::fs::write(kv.join(hex::encode(key)), value).expect("store");
        }

        /// Every key the fake store holds.
        pub fn keys(&self) -> Vec<String> {
            let mut keys: Vec<String> = std::fs::read_dir(self.dir.0.join("kv"))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter_map(|e| {
                            hex::decode(e.file_name().to_string_lossy().as_bytes()).ok()
                        })
                        .filter_map(|k| String::from_utf8(k).ok())
                        .collect()
                })
                .unwrap_or_default();
            keys.sort();
            keys
        }

        /// What `kv key list` prints from now on.
        pub fn set_list(&self, json: &str) {
            std::fs::write(self.dir.0.join("list.json"), json).expect("list file");
        }

        pub fn fail_with(&self, stderr: &str) {
            std::fs::write(self.dir.0.join("fail"), stderr).expect("fail file");
        }

        /// The next `calls` calls find the store locked.
        pub fn lock_for(&self, calls: u32) {
            std::fs::write(self.dir.0.join("busy"), calls.to_string()).expect("busy file");
        }
    }

    #[test]
    fn commands_name_the_binding_and_the_store() {
        let mut args = KvArgs {
            local: false,
            persist_to: None,
            config: Some("w.toml".into()),
            wrangler: Some("/bin/w".into()),
            binding: "KV2".into(),
        };
        let strings = |w: &Wrangler| -> Vec<String> {
            w.args(&[os("key"), os("get"), os("channels/x")])
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            strings(&Wrangler::from_args(&args)),
            [
                "kv",
                "key",
                "get",
                "channels/x",
                "--binding",
                "KV2",
                "--remote",
                "--config",
                "w.toml"
            ]
        );
        args.local = true;
        assert_eq!(
            strings(&Wrangler::from_args(&args)),
            [
                "kv",
                "key",
                "get",
                "channels/x",
                "--binding",
                "KV2",
                "--local",
                "--config",
                "w.toml"
            ]
        );
        args.local = false;
        args.persist_to = Some("/tmp/st".into());
        args.config = None;
        let w = Wrangler::from_args(&args);
        assert!(w.is_local(), "--persist-to implies the local store");
        assert_eq!(
            strings(&w),
            [
                "kv",
                "key",
                "get",
                "channels/x",
                "--binding",
                "KV2",
                "--local",
                "--persist-to",
                "/tmp/st"
            ]
        );
    }

    #[test]
    fn a_missing_key_is_none_and_a_failure_quotes_stderr() {
        let fake = FakeWrangler::new();
        let w = fake.wrangler();
        assert_eq!(w.get("channels/none").unwrap(), None);
        w.put("k", "{\"a\":1}").unwrap();
        assert_eq!(w.get("k").unwrap().as_deref(), Some(&b"{\"a\":1}"[..]));
        let env = std::fs::read_to_string(fake.dir.0.join("env.log")).unwrap();
        assert_eq!(
            env.lines().collect::<Vec<_>>(),
            [
                "CLOUDFLARE_TELEMETRY_DISABLED=1",
                "WRANGLER_SEND_ERROR_REPORTS=false",
                "WRANGLER_SEND_METRICS=false"
            ]
        );
        fake.fail_with("✘ [ERROR] Failed to fetch .../values/channels%2Fx - 404: Not Found);");
        assert_eq!(
            w.get("channels/x").unwrap(),
            None,
            "remote 404 is a missing key"
        );
        fake.fail_with("✘ [ERROR] Not logged in.");
        let err = format!("{:#}", w.get("channels/x").unwrap_err());
        assert!(
            err.contains("Not logged in") && err.contains("wrangler kv key get"),
            "{err}"
        );
        let err = format!("{:#}", w.put("k", "v").unwrap_err());
        assert!(
            err.contains("Not logged in") && err.contains("exit 1"),
            "{err}"
        );
    }

    #[test]
    fn a_locked_local_store_is_tried_again_and_a_lasting_lock_is_quoted() {
        let fake = FakeWrangler::new();
        let w = fake.wrangler();
        fake.lock_for(LOCKED_ATTEMPTS - 1);
        w.put("k", "v").unwrap();
        assert_eq!(fake.stored("k").as_deref(), Some(&b"v"[..]));
        assert_eq!(fake.calls().len(), LOCKED_ATTEMPTS as usize);

        fake.lock_for(LOCKED_ATTEMPTS);
        let err = format!("{:#}", w.put("k", "w").unwrap_err());
        assert!(err.contains("SQLITE_BUSY") && err.contains("wrangler kv key put"), "{err}");
        assert_eq!(fake.stored("k").as_deref(), Some(&b"v"[..]));

        let remote = Wrangler {
            local: false,
            persist_to: None,
            ..fake.wrangler()
        };
        fake.lock_for(1);
        let before = fake.calls().len();
        assert!(remote.put("k", "x").is_err(), "only the local store is retried");
        assert_eq!(fake.calls().len(), before + 1);
    }

    #[test]
    fn quoted_output_loses_colours_and_blank_lines() {
        let raw = b"\x1b[31m\xe2\x9c\x98 \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mNo binding.\x1b[0m\n\n\n  Logs were written\n";
        assert_eq!(
            plain(raw),
            "\u{2718} [ERROR] No binding.\nLogs were written"
        );
    }

    #[test]
    fn a_missing_program_is_named() {
        let args = KvArgs {
            local: true,
            persist_to: None,
            config: None,
            wrangler: Some("/nonexistent/wrangler".into()),
            binding: "EDGESEG_KV".into(),
        };
        let err = format!("{:#}", Wrangler::from_args(&args).get("k").unwrap_err());
        assert!(err.contains("/nonexistent/wrangler"), "{err}");
    }
}
