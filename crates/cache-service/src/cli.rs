//! The arguments and entry point of `perfstore serve` (placeholder until the server lands).

/// `perfstore serve [--host 127.0.0.1] [--port 10017] [--storage memory|disk|s3] [--path DIR] [--no-auth]`
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind.
    #[arg(long, default_value_t = 10017)]
    pub port: u16,
}

impl ServeArgs {
    /// Runs the server until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("the cache service is not implemented yet".into())
    }
}
