//! `edgeseg promote|rollback`, and what `publish` shares with them: reading and writing
//! a channel pointer, the audit trail, the clock.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::calendar::CivilDate;
use edgeseg::core::channel::{
    channel_key, is_valid_channel, AuditAction, AuditOutcome, AuditRecord, AuditSource, Pointer,
};

use crate::wrangler::{KvArgs, Wrangler};

#[derive(Args)]
pub struct ChannelArgs {
    /// Channel name (the worker follows `EDGESEG_CHANNEL`, `production` by default).
    #[arg(long, value_name = "NAME")]
    pub channel: String,
    #[command(flatten)]
    pub kv: KvArgs,
}

/// `promote` or `rollback`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Promote,
    Rollback,
}

impl Move {
    fn action(self) -> AuditAction {
        match self {
            Move::Promote => AuditAction::Promote,
            Move::Rollback => AuditAction::Rollback,
        }
    }
}

pub fn run(args: ChannelArgs, step: Move) -> Result<()> {
    let pointer = move_channel(&Wrangler::from_args(&args.kv), &args.channel, step)?;
    println!("{}", pointer.to_json());
    Ok(())
}

/// Reads the pointer, applies `step`, writes the pointer and the audit record.
pub fn move_channel(kv: &Wrangler, channel: &str, step: Move) -> Result<Pointer> {
    check_channel(channel)?;
    let current = read_pointer(kv, channel)?.with_context(|| {
        format!(
            "channel {channel} has no pointer ({} in {}): publish a bundle first",
            channel_key(channel),
            kv.location()
        )
    })?;
    let next = match step {
        Move::Promote => current.promote(),
        Move::Rollback => current.rollback(),
    }
    .with_context(|| format!("channel {channel}: {:?}", step.action()))?;
    let now = Clock::now();
    let next = write_pointer(kv, channel, next, &now)?;
    let version = match step {
        Move::Promote => next.active.clone(),
        // What was stopped (a canary) or left (the active version).
        Move::Rollback => current
            .canary
            .as_ref()
            .map_or(current.active.clone(), |c| c.version.clone()),
    };
    let detail = format!("{} -> {}", current.to_json(), next.to_json());
    write_audit(
        kv,
        AuditRecord {
            at_ms: now.ms,
            source: AuditSource::Cli,
            action: step.action(),
            channel: channel.into(),
            version,
            outcome: AuditOutcome::Ok,
            hashes: BTreeMap::new(),
            detail,
        },
    )?;
    Ok(next)
}

pub fn check_channel(channel: &str) -> Result<()> {
    if !is_valid_channel(channel) {
        anyhow::bail!("--channel {channel:?}: 1..64 of [A-Za-z0-9._-]");
    }
    Ok(())
}

/// The channel's pointer; `None` when the key does not exist.
pub fn read_pointer(kv: &Wrangler, channel: &str) -> Result<Option<Pointer>> {
    let key = channel_key(channel);
    let Some(bytes) = kv
        .get(&key)
        .with_context(|| format!("reading {key} from {}", kv.location()))?
    else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).with_context(|| format!("{key} is not UTF-8 text"))?;
    Pointer::from_json(text.trim())
        .map(Some)
        .with_context(|| format!("{key} in {}", kv.location()))
}

/// Stamps and writes the pointer; returns what was written.
pub fn write_pointer(
    kv: &Wrangler,
    channel: &str,
    pointer: Pointer,
    now: &Clock,
) -> Result<Pointer> {
    let pointer = Pointer {
        updated_at: Some(now.rfc3339()),
        ..pointer
    };
    let key = channel_key(channel);
    kv.put(&key, &pointer.to_json())
        .with_context(|| format!("writing {key} to {}", kv.location()))?;
    Ok(pointer)
}

/// Writes `record` where `edgeseg` and the edge keep the audit trail; its key.
pub fn write_audit(kv: &Wrangler, record: AuditRecord) -> Result<String> {
    let (key, text) = record
        .entry()
        .map_err(|e| anyhow::anyhow!("no system randomness for the audit key: {e}"))?;
    kv.put(&key, &text)
        .with_context(|| format!("writing audit record {key} to {}", kv.location()))?;
    Ok(key)
}

/// One reading of the system clock, used for both the pointer and the audit record.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub ms: u64,
}

impl Clock {
    pub fn now() -> Clock {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Clock { ms }
    }

    /// `2026-11-21T20:36:53Z`: RFC 3339, UTC, whole seconds.
    pub fn rfc3339(&self) -> String {
        let CivilDate { year, month, day } = CivilDate::from_unix_ms(self.ms as i64);
        let rem = self.ms / 1000 % 86_400;
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrangler::tests::FakeWrangler;
    use edgeseg::core::channel::Canary;

    #[test]
    fn the_clock_formats_rfc3339_utc() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (1_795_293_413_999, "2026-11-21T20:36:53Z"),
            (4_107_542_399_000, "2100-02-28T23:59:59Z"),
        ] {
            assert_eq!(Clock { ms }.rfc3339(), text, "{ms}");
        }
    }

    fn audit_records(fake: &FakeWrangler) -> Vec<AuditRecord> {
        fake.keys()
            .iter()
            .filter(|k| k.starts_with("audit/"))
            .map(|k| serde_json::from_slice(&fake.stored(k).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn promote_then_rollback_walk_the_pointer_and_leave_an_audit_trail() {
        let fake = FakeWrangler::new();
        let kv = fake.wrangler();
        let canary = Pointer {
            active: "v1".into(),
            canary: Some(Canary {
                version: "v2".into(),
                share: 0.3,
            }),
            previous: Some("embedded".into()),
            updated_at: None,
        };
        fake.store("channels/prod", canary.to_json().as_bytes());

        let promoted = move_channel(&kv, "prod", Move::Promote).unwrap();
        assert_eq!(promoted.active, "v2");
        assert_eq!(promoted.previous.as_deref(), Some("v1"));
        assert!(promoted.canary.is_none());
        assert!(promoted
            .updated_at
            .as_deref()
            .is_some_and(|t| t.ends_with('Z')));
        let stored = Pointer::from_json(
            std::str::from_utf8(&fake.stored("channels/prod").unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(stored, promoted);

        let back = move_channel(&kv, "prod", Move::Rollback).unwrap();
        assert_eq!(back.active, "v1");
        let err = format!(
            "{:#}",
            move_channel(&kv, "prod", Move::Rollback).unwrap_err()
        );
        assert!(err.contains("no previous version"), "{err}");
        let err = format!(
            "{:#}",
            move_channel(&kv, "prod", Move::Promote).unwrap_err()
        );
        assert!(err.contains("no canary"), "{err}");

        let mut records = audit_records(&fake);
        records.sort_by_key(|r| r.at_ms);
        let actions: Vec<(AuditAction, &str)> = records
            .iter()
            .map(|r| (r.action, r.version.as_str()))
            .collect();
        assert_eq!(actions.len(), 2);
        assert!(
            actions.contains(&(AuditAction::Promote, "v2"))
                && actions.contains(&(AuditAction::Rollback, "v2"))
        );
        assert!(records
            .iter()
            .all(|r| r.source == AuditSource::Cli
                && r.outcome == AuditOutcome::Ok
                && r.channel == "prod"));
    }

    #[test]
    fn a_missing_pointer_is_a_clear_error() {
        let fake = FakeWrangler::new();
        let err = format!(
            "{:#}",
            move_channel(&fake.wrangler(), "nothing", Move::Promote).unwrap_err()
        );
        assert!(
            err.contains("channels/nothing") && err.contains("publish a bundle first"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            move_channel(&fake.wrangler(), "bad name", Move::Promote).unwrap_err()
        );
        assert!(err.contains("--channel"), "{err}");
        fake.store("channels/broken", b"{not json");
        let err = format!(
            "{:#}",
            move_channel(&fake.wrangler(), "broken", Move::Promote).unwrap_err()
        );
        assert!(
            err.contains("channels/broken") && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
