//! `confab bench`: every scenario runs once at a small size against a server the bench
//! starts, and writes figures that hold together. The figures themselves are for
//! `docs/PERFORMANCE.md` (release build, full size); here only their soundness is checked.

use std::process::Command;

use serde_json::Value;

/// Runs `confab bench ARGS --out DIR/figures.json` and returns the figures.
fn bench(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("figures.json");
    let run = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("bench")
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run confab bench");
    let printed = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "confab bench {args:?} failed:\n{printed}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("{printed}");
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

#[test]
fn fanout_ramps_and_reports_latency_and_server_cpu() {
    let f = bench(&[
        "fanout",
        "--conversations",
        "3",
        "--participants",
        "4",
        "--start-rate",
        "48",
        "--max-rate",
        "72",
        "--step-secs",
        "1",
        "--light-secs",
        "1",
    ]);
    let steps = f["steps"].as_array().unwrap();
    // Two rates (48 and 72), each measured once more if it missed only the latency bound,
    // and the rate between them tried once if 72 did not hold: at most four steps.
    assert!(
        !steps.is_empty() && steps.len() <= 4,
        "{} steps",
        steps.len()
    );
    for s in steps {
        assert!(s["delivered_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["latency"]["samples"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(
            (s["refused"].as_u64(), s["closed"].as_u64()),
            (Some(0), Some(0))
        );
        // Present; /proc counts CPU in 10 ms ticks, so a quiet 1 s step may read 0.
        assert!(s["server_us_per_delivery"].as_f64().is_some(), "{s}");
    }
}

#[test]
fn big_room_delivers_to_everyone() {
    let f = bench(&[
        "big-room",
        "--participants",
        "20",
        "--start-rate",
        "200",
        "--max-rate",
        "200",
        "--step-secs",
        "1",
        "--light-secs",
        "1",
    ]);
    assert_eq!(f["conversations"], 1);
    assert!(f["steps"][0]["delivered_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn idle_reports_memory_per_connection() {
    let f = bench(&["idle", "--connections", "60", "--hold-secs", "1"]);
    assert_eq!(f["connections"], 60);
    assert!(f["server_kib_per_connection"].as_f64().is_some(), "{f}");
}

#[test]
fn writes_are_answered_after_commit() {
    let f = bench(&["writes", "--senders", "10", "--secs", "1"]);
    assert!(f["acked_per_s"].as_f64().unwrap() > 0.0, "{f}");
    assert_eq!(f["refused"], 0);
}

#[test]
fn init_times_each_client() {
    let f = bench(&["init", "--conversations", "30", "--rounds", "3"]);
    assert_eq!(f["latency"]["samples"], 3);
}

#[test]
fn a_storm_loses_nothing() {
    let f = bench(&["storm", "--clients", "40", "--per-conversation", "10"]);
    assert_eq!(
        (f["lost"].as_u64(), f["duplicated"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(f["expected"], 80);
}

#[test]
fn floor_measures_both_ends_of_plain_loopback_writes() {
    let f = bench(&[
        "floor",
        "--connections",
        "20",
        "--burst",
        "10",
        "--rates",
        "2000,4000",
        "--secs",
        "0.5",
    ]);
    let steps = f["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for s in steps {
        assert!(s["written_per_s"].as_f64().unwrap() > 0.0, "{s}");
        // Nanosecond accounting: a thread that wrote or read anything used some CPU.
        assert!(s["writer_us_per_frame"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["reader_us_per_frame"].as_f64().unwrap() > 0.0, "{s}");
    }
}
