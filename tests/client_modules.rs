//! The browser client's modules that need no DOM (the session, the room state, the naming
//! rules) have unit tests in `tests/js/`, run here by Node's own test runner, so the README's
//! one test command runs them too. Where Node is missing the test says so and passes, except
//! under `CI=true`.

use std::path::Path;
use std::process::Command;

/// `node --test tests/js/` passes.
#[test]
fn the_browser_clients_modules_pass_their_node_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = Command::new("node")
        .arg("--test")
        .arg(root.join("tests/js"))
        .current_dir(root)
        .output();
    let Ok(out) = run else {
        let message = "node is not installed: the browser client's unit tests NOT run";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("\n*** {message} ***\n");
        return;
    };
    assert!(
        out.status.success(),
        "node --test tests/js failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
