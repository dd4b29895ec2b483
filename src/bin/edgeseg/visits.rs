//! Where replayed visits come from, shared by `edgeseg replay` and `edgeseg eval`:
//! recorded visits (JSONL, one per line), OTTO's session files, or UCI rows turned into
//! visits by `uci_visit`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use edgeseg::core::bundle::sha256_hex;
use edgeseg::core::config::StoreConfig;

use crate::recording::Recording;
use crate::uci_visit::{visit_of, Dates, Funnel};
use crate::{otto, uci};

/// The reference split's test rows of the UCI file whose sha256 is [`UCI_SHA256`]
/// (made with scikit-learn, see the file's header).
const UCI_TEST_ROWS: &str = include_str!("uci_reference_test_rows.txt");
const UCI_SHA256: &str = "44b29f6ac84d6491bcf8d78e3cd544c10df910fe518293454174876f25956c4f";

#[derive(Args, Clone)]
#[group(id = "source", required = true, multiple = false)]
pub struct SourceArgs {
    /// Recorded visits, one JSON recording per line (docs/contracts.md section 6).
    #[arg(long, value_name = "JSONL")]
    pub sessions: Option<PathBuf>,
    /// OTTO session events, one session per line, cut before the first order.
    #[arg(long, value_name = "JSONL")]
    pub otto: Option<PathBuf>,
    /// The UCI CSV: each row replayed as a visit (requests plus beacon dwell events).
    #[arg(long, value_name = "CSV")]
    pub uci: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct UciArgs {
    /// Which UCI rows: the reference split's training or test rows, or all.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// The date each UCI visit happens on.
    #[arg(long, value_enum, default_value = "own")]
    pub dates: Dates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    Train,
    Test,
    All,
}

/// One visit to replay, with its name in reports and its order label.
pub struct Visit {
    pub id: String,
    /// `plain`, or the funnel steps appended (`cart`, `checkout`).
    pub variant: &'static str,
    pub recording: Recording,
    /// The session's cart events up to the visit's cut (OTTO), a baseline score.
    pub cart_events: Option<usize>,
    /// The first request count with a row of its own: a funnel copy's earlier rows are
    /// its plain visit's.
    pub first_row: usize,
}

impl Visit {
    pub fn ordered(&self) -> Option<bool> {
        self.recording.ordered
    }
}

/// Reads the visits of the chosen source; `funnel` adds the cart and checkout copies
/// of every UCI visit (training data only).
pub fn load(source: &SourceArgs, uci_args: &UciArgs, funnel: bool) -> Result<Vec<Visit>> {
    if let Some(path) = &source.sessions {
        let text = read(path)?;
        return text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let recording = Recording::parse(line)
                    .with_context(|| format!("{}:{}", path.display(), index + 1))?;
                Ok(Visit {
                    id: (index + 1).to_string(),
                    variant: "plain",
                    recording,
                    cart_events: None,
                    first_row: 1,
                })
            })
            .collect();
    }
    if let Some(path) = &source.otto {
        let timeout = StoreConfig::default_store().ttl.session_ms();
        let visits =
            otto::parse(&read(path)?, timeout).with_context(|| format!("{}", path.display()))?;
        return Ok(visits
            .into_iter()
            .map(|v| Visit {
                id: v.id,
                variant: "plain",
                recording: v.recording,
                cart_events: Some(v.cart_events),
                first_row: 1,
            })
            .collect());
    }
    let Some(path) = &source.uci else {
        anyhow::bail!("pass --sessions, --otto or --uci");
    };
    let text = read(path)?;
    if uci_args.split != Split::All && sha256_hex(text.as_bytes()) != UCI_SHA256 {
        anyhow::bail!(
            "{} is not the UCI file the reference split belongs to: pass --split all",
            path.display()
        );
    }
    let sessions = uci::parse(&text).with_context(|| format!("{}", path.display()))?;
    let test = uci::parse_rows(UCI_TEST_ROWS, "built-in reference rows", sessions.len())?;
    let rows: Vec<usize> = match uci_args.split {
        Split::All => (0..sessions.len()).collect(),
        Split::Test => test,
        Split::Train => {
            let test: std::collections::BTreeSet<usize> = test.into_iter().collect();
            (0..sessions.len()).filter(|i| !test.contains(i)).collect()
        }
    };
    let variants: &[Option<Funnel>] = if funnel {
        &[None, Some(Funnel::Cart), Some(Funnel::Checkout)]
    } else {
        &[None]
    };
    let mut visits = Vec::with_capacity(rows.len() * variants.len());
    for row in rows {
        let session = &sessions[row];
        let mut plain_requests = 0;
        for funnel in variants {
            let mut recording = visit_of(&session.features, uci_args.dates, *funnel);
            recording.ordered = Some(session.revenue);
            let requests = recording
                .requests
                .iter()
                .filter(|e| e.beacon.is_none())
                .count();
            let first_row = if funnel.is_some() {
                plain_requests + 1
            } else {
                plain_requests = requests;
                1
            };
            visits.push(Visit {
                id: row.to_string(),
                variant: funnel.map_or("plain", Funnel::as_str),
                recording,
                cart_events: None,
                first_row,
            });
        }
    }
    Ok(visits)
}

fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
