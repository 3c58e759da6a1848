//! The files `compare` writes: every run as JSON, and a Markdown table of the headline numbers
//! with Room's value over each peer's.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::report::{Better, Report};

/// One server's part in a comparison.
#[derive(Debug, Serialize)]
pub(crate) struct Run {
    /// The server's name (`room`, `node-ws`, `bun`).
    pub(crate) server: String,
    /// How it was started.
    pub(crate) command: Vec<String>,
    /// Why it was skipped or failed, if it did.
    pub(crate) problem: Option<String>,
    /// Its report, if the scenario ran.
    pub(crate) report: Option<Report>,
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() / 86_400) as i64;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The Markdown report: the command, a table of headline numbers (a column per server and a
/// Room/peer ratio per peer), and what was skipped.
pub(crate) fn markdown(title: &str, command: &str, runs: &[Run]) -> String {
    let measured: Vec<(&str, &Report)> = runs
        .iter()
        .filter_map(|run| {
            run.report
                .as_ref()
                .map(|report| (run.server.as_str(), report))
        })
        .collect();
    let mut out = format!("# {title}\n\n```sh\n{command}\n```\n\n");
    // Room's run, or a variant of Room's (`--room-name`), is the one the others are held to.
    let is_room = |server: &str| server == "room" || server.starts_with("room-");
    let room = measured.iter().find(|(server, _)| is_room(server));
    let peers: Vec<&str> = measured
        .iter()
        .map(|(server, _)| *server)
        .filter(|server| !is_room(server))
        .collect();
    let mut labels: Vec<(String, Better)> = Vec::new();
    for (_, report) in &measured {
        for headline in report.headlines() {
            if !labels.iter().any(|(label, _)| *label == headline.label) {
                labels.push((headline.label, headline.better));
            }
        }
    }
    out += "| metric |";
    for (server, _) in &measured {
        out += &format!(" {server} |");
    }
    if room.is_some() {
        for peer in &peers {
            out += &format!(" room/{peer} |");
        }
    }
    out += "\n|---|";
    let columns = measured.len() + if room.is_some() { peers.len() } else { 0 };
    out += &"---:|".repeat(columns);
    out += "\n";
    let value_of = |report: &Report, label: &str| {
        report
            .headlines()
            .into_iter()
            .find(|headline| headline.label == label)
            .and_then(|headline| headline.value)
    };
    for (label, better) in &labels {
        let arrow = match better {
            Better::Higher => "↑",
            Better::Lower => "↓",
        };
        out += &format!("| {label} {arrow} |");
        for (_, report) in &measured {
            out += &format!(" {} |", number(value_of(report, label)));
        }
        if let Some((_, room)) = room {
            for peer in &peers {
                let peer_report = measured
                    .iter()
                    .find(|(server, _)| server == peer)
                    .map(|(_, report)| *report);
                let ratio = value_of(room, label)
                    .zip(peer_report.and_then(|report| value_of(report, label)))
                    .filter(|(_, peer)| *peer != 0.0)
                    .map(|(room, peer)| room / peer);
                out += &format!(" {} |", ratio.map_or("–".into(), |r| format!("{r:.2}")));
            }
        }
        out += "\n";
    }
    out += "\n↑ higher is better, ↓ lower is better. A ratio is Room's number over the peer's.\n";
    for run in runs {
        if let Some(problem) = &run.problem {
            out += &format!("\n- **{}**: {problem}\n", run.server);
        }
    }
    out
}

/// A number for the table: few decimals, `–` when absent.
fn number(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(value) if value.abs() >= 100.0 || value.fract() == 0.0 => format!("{value:.0}"),
        Some(value) if value.abs() >= 1.0 => format!("{value:.2}"),
        Some(value) => format!("{value:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        let date = today();
        assert_eq!(date.len(), 10);
        assert!(date.starts_with("20"), "{date}");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(Some(1234.4)), "1234");
        assert_eq!(number(Some(12.345)), "12.35");
        assert_eq!(number(Some(0.01234)), "0.012");
        assert_eq!(number(Some(0.0)), "0");
        assert_eq!(number(None), "–");
    }
}
