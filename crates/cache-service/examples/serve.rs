//! Runs the cache service on its own, without the `perfstore` binary:
//! `cargo run -p cache-service --features cli --example serve -- --port 18017 --no-auth`.

use clap::Parser;

/// The `perfstore serve` arguments as a standalone command.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    serve: cache_service::cli::ServeArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    Cli::parse().serve.run().await
}
