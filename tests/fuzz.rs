//! The fuzz targets (`fuzz/src/lib.rs`, run at length by `cargo fuzz`) in `cargo test`:
//! every committed seed of `fuzz/corpus/<target>/` as is, then a bounded number of
//! proptest cases per target, random bytes and mutations of the seeds (byte edits,
//! cuts, splices). A target fails only by panicking. `EDGESEG_FUZZ_CASES` sets the
//! cases per target (default 3000: a few seconds each).

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::fs;
use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestRunner};

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).expect("seed")).collect();
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

/// A seed, byte edits, where to cut it, another seed and where to splice a piece of it.
type Mutation = (Vec<u8>, Vec<(Index, u8)>, Option<Index>, Vec<u8>, Index);

/// A seed with up to 8 bytes overwritten, cut at one point, and a piece of another
/// seed spliced in.
fn mutate((mut bytes, edits, cut, other, at): Mutation) -> Vec<u8> {
    if !bytes.is_empty() {
        for (index, byte) in edits {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len() + 1));
    }
    let at = at.index(bytes.len() + 1);
    let piece = &other[..other.len().min(64)];
    bytes.splice(at..at, piece.iter().copied());
    bytes
}

fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        select(seeds.clone()),
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..8),
        prop::option::of(any::<Index>()),
        prop_oneof![Just(Vec::new()), select(seeds)],
        any::<Index>(),
    )
        .prop_map(mutate);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        4 => mutated,
    ]
}

#[test]
fn every_fuzz_target_survives_its_corpus_and_bounded_mutations() {
    let cases = std::env::var("EDGESEG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for (name, target) in targets::TARGETS {
        let seeds = seeds(name);
        for seed in &seeds {
            target(seed);
        }
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&inputs(seeds), |input| {
                target(&input);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("fuzz target {name}: {e}"));
    }
}

#[test]
fn every_fuzz_target_has_a_libfuzzer_entry_and_seeds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in targets::TARGETS {
        let entry = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text =
            fs::read_to_string(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert!(text.contains(&format!("edgeseg_fuzz::{name}(")), "{name}");
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
        assert!(!seeds(name).is_empty());
    }
}
