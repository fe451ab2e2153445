//! The `gapscore` binary: parse the command line, set up logging, dispatch.

use anyhow::Context;
use clap::Parser;
use gapscore::{
    cli,
    config::{Cli, Command},
    startup::{self, Application},
    telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    telemetry::init(
        args.log_format,
        "info,sqlx=warn,h2=warn,tower=warn",
        std::io::stderr,
    );
    match args.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            if let Some(addr) = args.serve.metrics_listen {
                gapscore::metrics::install(addr)?;
            }
            let pool = startup::prepare_database(&args.database_url, &args.serve).await?;
            let app = Application::build(args.serve, pool).await?;
            tracing::info!(addr = %app.local_addr(), "gapscore listening");
            app.run_until(startup::shutdown_signal()).await
        }
        Command::Migrate => {
            cli::connect(&args.database_url).await?;
            println!("database is migrated");
            Ok(())
        }
        Command::Tenant(cmd) => cli::tenant(&cli::connect(&args.database_url).await?, cmd).await,
        Command::Key(cmd) => cli::key(&cli::connect(&args.database_url).await?, cmd).await,
        Command::Demo => {
            let key = gapscore::demo::load(&cli::connect(&args.database_url).await?).await?;
            let addr = args.serve.listen.to_string();
            println!("\nAPI key of the demo tenant (shown once):\n{key}\n");
            println!("Start the service (`gapscore serve`) and paste:\n");
            println!("{}", gapscore::demo::grpcurl_commands(&addr, &key));
            Ok(())
        }
        Command::Report { tenant, out } => {
            let pool = cli::connect(&args.database_url).await?;
            let html = gapscore::report::build(&pool, &tenant).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, html).with_context(|| {
                        format!("cannot write the report to {}", path.display())
                    })?;
                    eprintln!("wrote {} (open it in a browser)", path.display());
                }
                None => print!("{html}"),
            }
            Ok(())
        }
    }
}
