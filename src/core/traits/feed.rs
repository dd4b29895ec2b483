//! The store's traits file (contract section 8), CSV or JSONL, checked whole against
//! the schema: every problem is reported with its line and field, and a file with any
//! problem yields no records, so nothing is written.
//!
//! CSV: a header `customer_id,<trait>,...`, then one customer per row; an empty cell is
//! an absent trait, a list's items are separated by `|`. JSONL: one object per line,
//! `{"customer_id": "...", "<trait>": value, ...}`, `null` an absent trait, a list an
//! array of strings. Blank lines are skipped in both.

use std::collections::HashMap;

use serde_json::Value;
use thiserror::Error;

use super::schema::{TraitSchema, ValueProblem};
use super::value::{from_json, Traits, MAX_VALUE_BYTES};
use crate::core::features::{Kind, Observed};

/// The column (CSV) or key (JSONL) of the store's customer id.
pub const ID_FIELD: &str = "customer_id";
/// Separator of a list's items inside one CSV cell.
pub const LIST_SEPARATOR: char = '|';
/// The longest customer id accepted (as `identity::customer_key` does).
const MAX_ID_LEN: usize = 256;
/// Problems reported before giving up on a file.
pub const MAX_REPORTED: usize = 20;

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Csv,
    Jsonl,
}

impl FeedFormat {
    /// From the file name (`.csv`, `.jsonl`, `.ndjson`), else from the first
    /// non-blank character (`{` is JSONL).
    pub fn detect(file_name: &str, text: &str) -> FeedFormat {
        let lower = file_name.to_ascii_lowercase();
        let jsonl = lower.ends_with(".jsonl") || lower.ends_with(".ndjson");
        if !lower.ends_with(".csv") && (jsonl || text.trim_start().starts_with('{')) {
            FeedFormat::Jsonl
        } else {
            FeedFormat::Csv
        }
    }
}

/// What is wrong at one place of the file.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FeedProblem {
    #[error("not a declared trait (declared: {0})")]
    Undeclared(String),
    #[error("{0}")]
    Value(#[from] ValueProblem),
    #[error("not a number: {0:?}")]
    NotANumber(String),
    #[error("missing or empty customer id")]
    MissingId,
    #[error("customer id longer than {MAX_ID_LEN} bytes")]
    LongId,
    #[error("the same customer as line {0}")]
    Duplicate(usize),
    #[error("the column appears twice")]
    DuplicateColumn,
    #[error("the first column must be {ID_FIELD}")]
    NoIdColumn,
    #[error("{found} cells where the header has {expected}")]
    CellCount { found: usize, expected: usize },
    #[error("not valid CSV: {0}")]
    Csv(String),
    #[error("not a JSON object: {0}")]
    Json(String),
    #[error("the customer's traits take {0} bytes stored, over {MAX_VALUE_BYTES}")]
    TooLarge(usize),
    #[error("the file holds no customer")]
    Empty,
}

/// One problem, with its 1-based line and the field (column or key) concerned.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("line {line}, field {field}: {problem}")]
pub struct FeedError {
    pub line: usize,
    pub field: String,
    pub problem: FeedProblem,
}

/// Every problem found (the first [`MAX_REPORTED`]); the file is refused as a whole.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{}", render(.0))]
pub struct FeedErrors(pub Vec<FeedError>);

fn render(errors: &[FeedError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// One customer of the file: the raw id (never stored) and the checked traits.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRecord {
    pub line: usize,
    pub customer_id: String,
    pub traits: Traits,
}

/// Collects problems up to the cap.
struct Problems(Vec<FeedError>);

impl Problems {
    fn add(&mut self, line: usize, field: &str, problem: FeedProblem) {
        if self.0.len() < MAX_REPORTED {
            self.0.push(FeedError {
                line,
                field: field.to_string(),
                problem,
            });
        }
    }

    fn full(&self) -> bool {
        self.0.len() >= MAX_REPORTED
    }
}

/// Parses and checks a whole traits file. `feed_version` is what the stored values will
/// carry: a customer whose value would exceed [`MAX_VALUE_BYTES`] is a problem here.
pub fn parse(
    text: &str,
    format: FeedFormat,
    schema: &TraitSchema,
    feed_version: &str,
) -> Result<Vec<FeedRecord>, FeedErrors> {
    let mut problems = Problems(Vec::new());
    let records = match format {
        FeedFormat::Csv => parse_csv(text, schema, &mut problems),
        FeedFormat::Jsonl => parse_jsonl(text, schema, &mut problems),
    };
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for record in &records {
        if problems.full() {
            break;
        }
        if let Some(first) = first_seen.insert(record.customer_id.as_str(), record.line) {
            problems.add(record.line, ID_FIELD, FeedProblem::Duplicate(first));
            first_seen.insert(record.customer_id.as_str(), first);
        }
        let size = record.traits.encode(feed_version).len();
        if size > MAX_VALUE_BYTES {
            problems.add(record.line, ID_FIELD, FeedProblem::TooLarge(size));
        }
    }
    if records.is_empty() && problems.0.is_empty() {
        problems.add(1, ID_FIELD, FeedProblem::Empty);
    }
    if problems.0.is_empty() {
        Ok(records)
    } else {
        Err(FeedErrors(problems.0))
    }
}

/// The id as stored in the record: trimmed, non-empty, bounded.
fn customer_id(raw: &str) -> Result<String, FeedProblem> {
    let id = raw.trim();
    if id.is_empty() {
        Err(FeedProblem::MissingId)
    } else if id.len() > MAX_ID_LEN {
        Err(FeedProblem::LongId)
    } else {
        Ok(id.to_string())
    }
}

/// A CSV cell read as a trait of `kind`; `None` for an empty cell (absent trait).
fn cell_value(cell: &str, kind: Kind) -> Result<Option<Observed>, FeedProblem> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    Ok(Some(match kind {
        Kind::Num => cell
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Observed::Num)
            .ok_or_else(|| FeedProblem::NotANumber(cell.to_string()))?,
        Kind::Label => Observed::Label(cell.to_string()),
        Kind::List => Observed::List(
            cell.split(LIST_SEPARATOR)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect(),
        ),
    }))
}

/// One row's id and checked cells (`None`: an absent trait) -> its record, or its
/// problems filed with their line and field.
fn collect_row<'a>(
    line: usize,
    id: Result<String, FeedProblem>,
    cells: impl Iterator<Item = (&'a str, Result<Option<Observed>, FeedProblem>)>,
    problems: &mut Problems,
) -> Option<FeedRecord> {
    let mut traits = Traits::default();
    let mut ok = true;
    for (field, checked) in cells {
        match checked {
            Ok(Some(value)) => traits.insert(field, value),
            Ok(None) => {}
            Err(problem) => {
                problems.add(line, field, problem);
                ok = false;
            }
        }
    }
    match id {
        Ok(customer_id) => ok.then_some(FeedRecord {
            line,
            customer_id,
            traits,
        }),
        Err(problem) => {
            problems.add(line, ID_FIELD, problem);
            None
        }
    }
}

/// Line numbers from byte offsets (the csv reader's own count misses skipped blank
/// lines), counted forward once over the file.
struct Lines<'a> {
    text: &'a str,
    byte: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, position: Option<&csv::Position>) -> usize {
        let bytes = self.text.as_bytes();
        let mut byte = position.map_or(self.byte, |p| p.byte() as usize);
        byte = byte.clamp(self.byte, bytes.len());
        // A record's position can be the start of the blank lines skipped before it.
        while matches!(bytes.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        self.line += bytes[self.byte..byte]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.byte = byte;
        self.line
    }
}

fn parse_csv(text: &str, schema: &TraitSchema, problems: &mut Problems) -> Vec<FeedRecord> {
    let mut lines = Lines {
        text,
        byte: 0,
        line: 1,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();
    let header = match rows.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            problems.add(1, ID_FIELD, FeedProblem::Csv(e.to_string()));
            return Vec::new();
        }
        None => return Vec::new(),
    };
    let header_line = lines.at(header.position());
    let columns: Vec<String> = header.iter().map(str::to_string).collect();
    if columns.first().map(String::as_str) != Some(ID_FIELD) {
        let first = columns.first().cloned().unwrap_or_default();
        problems.add(header_line, &first, FeedProblem::NoIdColumn);
    }
    for (i, column) in columns.iter().enumerate().skip(1) {
        if columns[..i].contains(column) {
            problems.add(header_line, column, FeedProblem::DuplicateColumn);
        } else if schema.get(column).is_none() {
            problems.add(header_line, column, FeedProblem::Undeclared(schema.names()));
        }
    }
    if !problems.0.is_empty() {
        return Vec::new();
    }
    let mut records = Vec::new();
    for row in rows {
        if problems.full() {
            break;
        }
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = lines.at(e.position());
                problems.add(line, ID_FIELD, FeedProblem::Csv(e.to_string()));
                continue;
            }
        };
        let line = lines.at(row.position());
        if row.len() == 1 && row.get(0).is_some_and(str::is_empty) {
            continue;
        }
        if row.len() != columns.len() {
            let problem = FeedProblem::CellCount {
                found: row.len(),
                expected: columns.len(),
            };
            problems.add(line, ID_FIELD, problem);
            continue;
        }
        let id = customer_id(row.get(0).unwrap_or_default());
        let cells = columns
            .iter()
            .zip(row.iter())
            .skip(1)
            .filter_map(|(column, cell)| {
                let spec = schema.get(column)?;
                let checked = cell_value(cell, spec.kind).and_then(|value| match value {
                    Some(value) => spec.check(&value).map(|()| Some(value)).map_err(Into::into),
                    None => Ok(None),
                });
                Some((column.as_str(), checked))
            });
        records.extend(collect_row(line, id, cells, problems));
    }
    records
}

fn parse_jsonl(text: &str, schema: &TraitSchema, problems: &mut Problems) -> Vec<FeedRecord> {
    let mut records = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if problems.full() {
            break;
        }
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(object)) => object,
            Ok(other) => {
                problems.add(line, ID_FIELD, FeedProblem::Json(format!("got {other}")));
                continue;
            }
            Err(e) => {
                problems.add(line, ID_FIELD, FeedProblem::Json(e.to_string()));
                continue;
            }
        };
        let id = match object.get(ID_FIELD) {
            Some(Value::String(id)) => customer_id(id),
            Some(Value::Number(id)) => customer_id(&id.to_string()),
            _ => Err(FeedProblem::MissingId),
        };
        let cells = object
            .iter()
            .filter(|(key, _)| *key != ID_FIELD)
            .map(|(key, raw)| {
                let checked = match schema.get(key) {
                    None => Err(FeedProblem::Undeclared(schema.names())),
                    Some(_) if raw.is_null() => Ok(None),
                    Some(spec) => from_json(raw, spec.kind)
                        .and_then(|value| spec.check(&value).map(|()| Some(value)))
                        .map_err(Into::into),
                };
                (key.as_str(), checked)
            });
        records.extend(collect_row(line, id, cells, problems));
    }
    records
}
