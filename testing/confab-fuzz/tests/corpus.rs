//! Every committed fuzz input (`fuzz/corpus/TARGET/`: the seeds, and each input a fuzzer
//! found to break an invariant once fixed, named `regression-*`) replayed through its
//! target's checks, as CI's ordinary tests.

use std::path::PathBuf;

#[test]
fn every_committed_input_passes_its_target() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, check) in confab_fuzz::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 5, "{name}: only {} seeds", inputs.len());
        for path in &inputs {
            let data = std::fs::read(path).expect("a corpus file");
            // A failing input names itself: the panic message alone would not say which.
            eprintln!("{name}: {}", path.display());
            check(&data);
        }
        eprintln!("{name}: {} inputs replayed", inputs.len());
    }
}

#[test]
fn the_token_corpus_reaches_the_accepting_path() {
    // Without a token the verifier accepts, the target's checks on accepted tokens never run.
    let verifier = confab_token::Verifier::new(
        confab_fuzz::TOKEN_ACCOUNT,
        [confab_token::ApiKey {
            sid: confab_fuzz::TOKEN_KEY_SID.into(),
            secret: confab_fuzz::TOKEN_KEY_SECRET.into(),
        }],
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/token");
    for seed in ["seed-valid", "seed-valid-no-nbf"] {
        let token = std::fs::read_to_string(dir.join(seed)).expect("the seed");
        let v = verifier.verify(&token, confab_fuzz::TOKEN_NOW);
        assert!(v.is_ok(), "{seed}: {v:?}");
    }
}
