//! The core's scenario files, replayed over HTTP: every file that runs on `"http"` (or on every
//! runtime), each on a fresh tenant, with the native core alongside checking each answer.

use stocksync_core::scenario::{run, Scenario};
use stocksync_http_tests::driver::HttpDriver;
use stocksync_http_tests::server::repo_root;

use crate::api;

#[test]
fn scenario_files_over_http_give_the_same_pushes_and_states_as_the_native_core() {
    let dir = repo_root().join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut ran, mut failures) = (Vec::new(), Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).expect("a readable scenario");
        let scenario: Scenario = stocksync_core::wire::from_json(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if !scenario.runs_on("http") {
            continue;
        }
        let name: String = scenario
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect();
        let mut driver = HttpDriver::new(api(&format!("sc-{name}")));
        match run(&scenario, &mut driver) {
            Ok(()) => ran.push(scenario.name.clone()),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    eprintln!(
        "[http-tests] scenarios over HTTP: {} passed: {}",
        ran.len(),
        ran.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed over HTTP:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran.len() >= 5,
        "expected the scenario corpus, ran only {ran:?}"
    );
}
