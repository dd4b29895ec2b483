//! Pulled training records on disk (`edgeseg logs pull` writes them): every
//! `*.jsonl.gz` under a folder, in path order, read with the core's reader.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use edgeseg::core::records::record::from_jsonl_gz;
use edgeseg::core::records::TrainingRecord;

/// The record files under `dir`, sorted.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("reading {}", folder.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(".jsonl.gz") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Calls `each` with every record under `dir` and the file it came from, one file in
/// memory at a time.
pub fn for_each(
    dir: &Path,
    mut each: impl FnMut(&Path, TrainingRecord) -> Result<()>,
) -> Result<usize> {
    let mut count = 0;
    for path in files(dir)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let records = from_jsonl_gz(&bytes).with_context(|| format!("{}", path.display()))?;
        for record in records {
            each(&path, record)?;
            count += 1;
        }
    }
    Ok(count)
}
