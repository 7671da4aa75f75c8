//! `ui` (the web console) and `report` (one self-contained HTML file), both from the
//! `perfstore-console` crate over the store the global flags select.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use perfstore::Store;
use perfstore_console::{ConsoleError, ReportOptions};

use crate::failure::Failure;

/// Arguments of `ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address to bind. The default, loopback, lets only this machine in: the console has no
    /// authentication and shows every artifact of the store.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the console in the default browser (xdg-open / open).
    #[arg(long)]
    pub open: bool,
    /// Write a small demo (8 sessions, 2 targets, 2 baselines) into the store before serving;
    /// the way to see anything in a memory store.
    #[arg(long)]
    pub seed_demo: bool,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Session to report on (`@name` for a baseline's session).
    pub session: String,
    /// Compare the session against this one (or `@baseline`).
    #[arg(long, value_name = "SESSION")]
    pub against: Option<String>,
    /// The HTML file to write (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
    /// Relative change beyond which a metric regressed or improved: 5% or 0.05.
    #[arg(long, value_name = "CHANGE", default_value = "5%", value_parser = super::diff::parse_threshold)]
    pub threshold: f64,
    /// History charts over the last N sessions only (default: every session).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub last: Option<usize>,
}

fn failure(e: ConsoleError) -> Failure {
    match e {
        ConsoleError::NotFound(m) => Failure::not_found(m),
        ConsoleError::BadRequest(m) => Failure::invalid(m),
        ConsoleError::Store(e) => Failure::from(e),
        ConsoleError::Internal(m) => Failure::other(m),
    }
}

/// `ui`: serves the console until Ctrl-C.
pub async fn ui(store: Store, args: &UiArgs) -> Result<(), Failure> {
    let host = if args.host.eq_ignore_ascii_case("localhost") {
        "127.0.0.1"
    } else {
        args.host.as_str()
    };
    let ip: IpAddr = host.parse().map_err(|_| {
        Failure::invalid(format!(
            "--host {:?} is not an IP address (e.g. 127.0.0.1, ::1 or localhost)",
            args.host
        ))
    })?;
    if args.seed_demo {
        perfstore_console::demo::seed_demo(&store).await?;
        eprintln!("seeded the demo sessions into the {} store", store.name());
    }
    let open = args.open;
    let on_bound = move |addr: SocketAddr| {
        let url = format!("http://{addr}/");
        println!("perfstore console: {url}");
        if addr.ip().is_loopback() {
            println!(
                "bound to {} only: other machines cannot reach it",
                addr.ip()
            );
        } else {
            eprintln!(
                "warning: bound to {}: anyone who can reach this machine can read every artifact \
                 of the store (the console has no authentication)",
                addr.ip()
            );
        }
        let _ = std::io::stdout().flush();
        if open {
            open_browser(&url);
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    perfstore_console::serve(store, SocketAddr::new(ip, args.port), on_bound, shutdown)
        .await
        .map_err(|e| Failure::other(format!("cannot serve on {}:{}: {e}", args.host, args.port)))
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("could not open a browser ({opener}: {e}); open {url} yourself");
    }
}

/// `report`: writes the HTML file.
pub async fn report(store: &Store, args: &ReportArgs) -> Result<(), Failure> {
    let html = perfstore_console::report(
        store,
        &ReportOptions {
            session: args.session.clone(),
            against: args.against.clone(),
            threshold: Some(args.threshold),
            last: args.last,
        },
    )
    .await
    .map_err(failure)?;
    let mut tmp = args.html.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &html)
        .and_then(|()| std::fs::rename(&tmp, &args.html))
        .map_err(|e| Failure::other(format!("cannot write {}: {e}", args.html.display())))?;
    println!("wrote {} ({} bytes)", args.html.display(), html.len());
    Ok(())
}
