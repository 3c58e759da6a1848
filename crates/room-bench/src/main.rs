//! `room-bench`: see the library's docs for what it measures and how.

#![forbid(unsafe_code)]

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    room_bench::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("room-bench measures servers on Linux (/proc, epoll, taskset) and runs there only");
    std::process::ExitCode::FAILURE
}
