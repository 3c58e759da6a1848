//! `compare`: one scenario against each server in turn. The generator pins itself to core 1
//! and each server to core 0, starts the server on a free port, waits for its `listening on`
//! line, runs the scenario, stops it, and writes `<results-dir>/<date>-<scenario>.json` (every
//! run), `.md` (the headline table with Room/peer ratios) and, for fanout, `.svg` (p99 latency
//! against offered load).

use std::env;
use std::process::Command;

use async_std::task;
use serde_json::json;

use crate::chart::{write_chart, write_p99_chart, Axes};
use crate::cli::{CompareArgs, Scenario};
use crate::error::BenchError;
use crate::procfs::clock_ticks;
use crate::report::{write_file, write_json, Report};
use crate::results::{markdown, today, Run};
use crate::scenarios;
use crate::scenarios::sfu::Curves;
use crate::servers::{free_port, peers_readme, RunningServer, ServerKind};

/// The path Janus's WebSocket API answers on (any path does).
const JANUS_PATH: &str = "/janus";

/// The core the generator runs on; the servers get core 0.
const GENERATOR_CORE: &str = "1";

/// Runs `compare`. Call before anything starts the async runtime: pinning applies to the
/// threads that exist and to those they start later.
pub(crate) fn run(args: CompareArgs) -> Result<(), BenchError> {
    let kinds = args
        .servers
        .iter()
        .map(|name| ServerKind::parse(name))
        .collect::<Result<Vec<_>, _>>()?;
    let pin = !args.no_pin;
    if pin {
        pin_self()?;
    }
    let scenario_name = args.scenario.name();
    let mut runs = Vec::new();
    for kind in kinds {
        eprintln!("== {} ==", kind.name());
        runs.push(run_one(&args, kind, pin)?);
    }

    let date = today();
    let variant = args
        .label
        .as_ref()
        .map(|label| format!("-{label}"))
        .unwrap_or_default();
    let base = args
        .results_dir
        .join(format!("{date}-{scenario_name}{variant}"));
    let command = env::args().collect::<Vec<_>>().join(" ");
    // The target differs per server; each run's own report has it.
    let mut params = serde_json::to_value(&args.scenario)
        .map_err(|err| BenchError::Setup(format!("cannot encode the parameters: {err}")))?;
    if let Some(params) = params.as_object_mut() {
        params.remove("target");
    }
    let all = json!({
        "scenario": scenario_name,
        "date": date,
        "command": command,
        "pinned": pin,
        "clock_ticks_per_s": clock_ticks(),
        "params": params,
        "runs": &runs,
    });
    let json_path = base.with_extension("json");
    write_json(&json_path, &all)?;
    let title = format!("{scenario_name}: Room and its peers, {date}");
    let md_path = base.with_extension("md");
    write_file(&md_path, &markdown(&title, &command, &runs))?;
    eprintln!("wrote {} and {}", json_path.display(), md_path.display());

    let curves: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .filter_map(|run| match &run.report {
            Some(Report::Fanout(report)) => Some((run.server.clone(), report.p99_curve())),
            _ => None,
        })
        .collect();
    if !curves.is_empty() {
        let svg_path = base.with_extension("svg");
        let title = format!("fanout: p99 latency against offered load, {date}");
        write_p99_chart(&svg_path, &title, &curves)?;
        eprintln!("wrote {}", svg_path.display());
    }
    let sfu: Vec<(String, Curves)> = runs
        .iter()
        .filter_map(|run| match &run.report {
            Some(Report::Sfu(report)) => Some((run.server.clone(), report.curves())),
            _ => None,
        })
        .collect();
    if !sfu.is_empty() {
        let latency: Vec<_> = sfu
            .iter()
            .map(|(name, curves)| (name.clone(), curves.latency.clone()))
            .collect();
        let cpu: Vec<_> = sfu
            .iter()
            .map(|(name, curves)| (name.clone(), curves.cpu.clone()))
            .collect();
        let x = "forwarded packets per second (all members)";
        let latency_path = base.with_extension("svg");
        let axes = Axes {
            x,
            y: "p99 latency (ms, log scale)",
        };
        write_chart(
            &latency_path,
            &format!("sfu: p99 latency against load, {date}"),
            axes,
            &latency,
        )?;
        let cpu_path = args
            .results_dir
            .join(format!("{date}-{scenario_name}{variant}-cpu.svg"));
        let axes = Axes {
            x,
            y: "server CPU seconds per million forwarded packets (log scale)",
        };
        write_chart(
            &cpu_path,
            &format!("sfu: CPU against load, {date}"),
            axes,
            &cpu,
        )?;
        eprintln!(
            "wrote {} and {}",
            latency_path.display(),
            cpu_path.display()
        );
    }
    Ok(())
}

/// Starts one server, runs the scenario against it, stops it.
fn run_one(args: &CompareArgs, kind: ServerKind, pin: bool) -> Result<Run, BenchError> {
    let mut run = Run {
        server: kind.name().to_owned(),
        command: Vec::new(),
        problem: None,
        report: None,
    };
    let is_sfu = matches!(args.scenario, Scenario::Sfu(_));
    if is_sfu != (kind == ServerKind::Janus) && kind != ServerKind::Room {
        run.problem = Some("skipped: it does not speak this scenario's protocol".into());
        eprintln!(
            "skipping {}: it does not speak this scenario's protocol",
            kind.name()
        );
        return Ok(run);
    }
    let port = kind.port(free_port()?);
    run.command = match kind.command_on(&args.room_bin, &args.peers_dir, &args.host, port) {
        Ok(mut command) => {
            if kind == ServerKind::Room {
                command.extend(args.room_args.iter().cloned());
                run.server = args.room_name.clone();
            }
            command
        }
        Err(why) => {
            let readme = peers_readme(&args.peers_dir, kind);
            eprintln!("skipping {}: {why} (see {})", kind.name(), readme.display());
            run.problem = Some(format!("skipped: {why}"));
            return Ok(run);
        }
    };
    let server = match RunningServer::start(&run.command, port, pin) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("skipping {}: {err}", kind.name());
            run.problem = Some(format!("did not start: {err}"));
            return Ok(run);
        }
    };
    eprintln!(
        "{} listening on {} (pid {})",
        kind.name(),
        server.url,
        server.pid()
    );
    let mut scenario = args.scenario.clone();
    if let Scenario::Sfu(sfu) = &mut scenario {
        sfu.api = match kind {
            ServerKind::Janus => "janus".into(),
            _ => "room".into(),
        };
    }
    let target = scenario.target_mut();
    target.url = match kind {
        ServerKind::Janus => format!("ws://{}:{port}{JANUS_PATH}", args.host),
        _ => server.url.clone(),
    };
    target.server_pid = Some(server.pid());
    target.json = None;
    match task::block_on(scenarios::run(&scenario)) {
        Ok(report) => {
            println!("[{}] {}", kind.name(), report.summary());
            run.report = Some(report);
        }
        Err(err) => {
            eprintln!("{} failed: {err}", kind.name());
            run.problem = Some(format!(
                "failed: {err}; the server's last output:\n{}",
                server.last_output()
            ));
        }
    }
    server.stop();
    Ok(run)
}

/// Pins every thread of this process (and so every thread it starts later) to the generator's
/// core.
fn pin_self() -> Result<(), BenchError> {
    let pid = std::process::id().to_string();
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", GENERATOR_CORE, &pid])
        .output()
        .map_err(|err| BenchError::io("running taskset (util-linux) to pin the generator", err))?;
    if !pinned.status.success() {
        return Err(BenchError::Setup(format!(
            "taskset could not pin the generator to core {GENERATOR_CORE} ({}); \
             use --no-pin on a machine with one core",
            String::from_utf8_lossy(&pinned.stderr).trim()
        )));
    }
    Ok(())
}
