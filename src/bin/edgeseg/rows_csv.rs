//! The training rows' CSV (`edgeseg replay`, `edgeseg logs rows`): key columns, then
//! every non-list feature of contract section 1, values written so they read back to
//! the same number.

use std::io::Write;

use anyhow::Result;
use edgeseg::core::features::{Features, Kind, Observed, FIELDS};

/// The columns before the features.
const KEY_COLUMNS: &str = "visit,variant,requests,end,ordered";

pub struct RowWriter<W: Write> {
    out: W,
    columns: Vec<&'static str>,
}

/// One row's key columns.
pub struct RowKey<'a> {
    pub visit: &'a str,
    pub variant: &'a str,
    pub requests: usize,
    pub end: bool,
    pub ordered: Option<bool>,
}

impl<W: Write> RowWriter<W> {
    /// Writes the header line.
    pub fn new(mut out: W) -> Result<Self> {
        let columns: Vec<&str> = FIELDS
            .iter()
            .filter(|(_, kind)| *kind != Kind::List)
            .map(|(name, _)| *name)
            .collect();
        writeln!(out, "{KEY_COLUMNS},{}", columns.join(","))?;
        Ok(RowWriter { out, columns })
    }

    pub fn write(&mut self, key: &RowKey, features: &Features) -> Result<()> {
        let ordered = match key.ordered {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        write!(
            self.out,
            "{},{},{},{},{ordered}",
            key.visit,
            key.variant,
            key.requests,
            u8::from(key.end)
        )?;
        for name in &self.columns {
            match features.get(name) {
                Some(Observed::Num(x)) => write!(self.out, ",{x}")?,
                Some(Observed::Label(label)) => write!(self.out, ",{label}")?,
                Some(Observed::List(_)) | None => write!(self.out, ",")?,
            }
        }
        writeln!(self.out)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// A buffered file at `path`, or stdout.
pub fn output(path: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    use anyhow::Context as _;
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}
