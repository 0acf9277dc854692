//! Runs every scenario file in `tests/scenarios/` against the native core, checking every
//! invariant after every step (the same files run in the browser package and the worker).

use std::path::PathBuf;

use stocksync_core::scenario::{run, CoreDriver, Scenario};

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

#[test]
fn every_scenario_file_passes_on_the_native_core() {
    let mut files: Vec<_> = std::fs::read_dir(scenario_dir())
        .expect("tests/scenarios exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the scenario corpus, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable scenario");
        let scenario: Scenario = match stocksync_core::wire::from_json(&text) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if !scenario.runs_on("core") {
            continue;
        }
        if let Err(e) = run(&scenario, &mut CoreDriver::new()) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
