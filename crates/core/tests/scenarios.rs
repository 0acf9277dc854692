//! Runs every scenario file in `tests/scenarios/` against the native core, checking every
//! invariant after every step (the same files run in the browser package and the worker).

use std::path::PathBuf;

use stocksync_core::scenario::{run, BackedDriver, CoreDriver, Driver, Scenario};

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

#[test]
fn every_scenario_file_passes_on_the_native_core() {
    run_all(&mut || Box::new(CoreDriver::new()));
}

/// SPEC §7.10: the storage-backed path with a working set of a handful of rows (nearly every
/// event reloads from the store), and restarts, gives the same outcomes and state.
#[test]
fn every_scenario_file_passes_on_the_backed_core_with_a_tiny_working_set() {
    for (max_rows, restart_every) in [(0, 0), (4, 3), (64, 0)] {
        run_all(&mut || {
            let mut d = BackedDriver::new(max_rows);
            d.restart_every = restart_every;
            Box::new(d)
        });
    }
}

fn run_all(make: &mut dyn FnMut() -> Box<dyn Driver>) {
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
        if let Err(e) = run(&scenario, make().as_mut()) {
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
