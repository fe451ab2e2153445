//! The `gapscore` binary: parse the command line, set up logging, dispatch.
//!
//! A failure ends the process with one readable line (`error: ...` with its
//! causes, exit code 1), never a panic or a backtrace.

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::Parser;
use gapscore::{
    cli,
    config::{Cli, Command, ServerArgs},
    startup::{self, Application},
    telemetry::{self, LogFormat},
    tools::bulk::{self, Format, ImportOptions, Kind},
};
use indicatif::{ProgressBar, ProgressStyle};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Cli::parse();
    let command = args.command.take().unwrap_or(Command::Serve);
    // One-off commands keep sqlx's slow-statement warnings out of the
    // terminal; the server logs them, they are an operator's signal.
    let default_filter = match command {
        Command::Serve => "info,sqlx=warn,h2=warn,tower=warn",
        _ => "info,sqlx=error,h2=warn,tower=warn",
    };
    // Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set: the server's
    // calls, not one-off commands.
    let traces = match command {
        Command::Serve => match gapscore::otel::Export::from_env() {
            Ok(traces) => traces,
            Err(err) => {
                eprintln!("error: {}", telemetry::error_chain(&err));
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let tracer = traces.as_ref().map(gapscore::otel::Export::tracer);
    telemetry::init_with_traces(args.log_format, default_filter, std::io::stderr, tracer);
    let log_format = args.log_format;
    let result = run(args, command).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = telemetry::error_chain(&err);
            match log_format {
                LogFormat::Json => tracing::error!(error = %message, "gapscore stopped"),
                LogFormat::Pretty => eprintln!("error: {message}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Cli, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            startup::check_transport(&args.serve)?;
            if let Some(addr) = args.serve.metrics_listen {
                gapscore::metrics::install(addr)?;
            }
            let pool = startup::prepare_database(&args.database_url, &args.serve).await?;
            let app = Application::build(args.serve, pool).await?;
            tracing::info!(addr = %app.local_addr(), tls = app.is_tls(), "gapscore listening");
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
            let key = gapscore::tools::demo::load(&cli::connect(&args.database_url).await?).await?;
            let addr = args.serve.listen.to_string();
            println!("\nAPI key of the demo tenant (shown once):\n{key}\n");
            println!("Start the service (`gapscore serve`) and paste:\n");
            println!("{}", gapscore::tools::demo::grpcurl_commands(&addr, &key));
            Ok(())
        }
        Command::Openapi => {
            use std::io::Write;
            std::io::stdout()
                .write_all(gapscore::http::openapi::document_bytes())
                .context("cannot write the document to standard output")
        }
        Command::Import {
            kind,
            file,
            format,
            batch_size,
            server,
        } => import(kind, &file, format, batch_size.into(), &server).await,
        Command::Export {
            kind,
            out,
            format,
            server,
        } => export(kind, out.as_deref(), format, &server).await,
        Command::Report { tenant, out } => {
            let pool = cli::connect(&args.database_url).await?;
            let html = gapscore::tools::report::build(&pool, &tenant).await?;
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

async fn connect(server: &ServerArgs) -> anyhow::Result<gapscore::client::Clients> {
    let ca_pem = match &server.ca_cert {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    gapscore::client::connect_url(
        &server.server,
        &server.api_key,
        ca_pem,
        Duration::from_secs(60),
    )
    .await
}

fn format_of(format: Option<Format>, path: Option<&Path>) -> anyhow::Result<Format> {
    format
        .or_else(|| path.and_then(Format::from_path))
        .context("say --format csv or --format jsonl (the file name does not tell)")
}

/// `gapscore import`: the report on standard output; fails when a line was
/// rejected, so a script notices.
async fn import(
    kind: Kind,
    file: &Path,
    format: Option<Format>,
    batch_size: usize,
    server: &ServerArgs,
) -> anyhow::Result<()> {
    let format = format_of(format, Some(file))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let clients = connect(server).await?;
    let progress = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records, {eta} left")
            .expect("the template is valid"),
    );
    let options = ImportOptions {
        batch_size,
        progress: progress.clone(),
    };
    let report = bulk::import(&clients, kind, format, &text, &options).await?;
    progress.finish_and_clear();
    println!("{report}");
    if report.rejected_records > 0 {
        anyhow::bail!(
            "{} of {} records rejected (listed above); the others are stored",
            report.rejected_records,
            report.records
        );
    }
    Ok(())
}

/// `gapscore export`.
async fn export(
    kind: Kind,
    out: Option<&Path>,
    format: Option<Format>,
    server: &ServerArgs,
) -> anyhow::Result<()> {
    let format = format_of(format, out)?;
    let clients = connect(server).await?;
    let progress = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {pos} records").expect("the template is valid"),
    );
    let written = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            bulk::export(&clients, kind, format, &mut file, &progress).await?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            bulk::export(&clients, kind, format, &mut stdout, &progress).await?
        }
    };
    progress.finish_and_clear();
    eprintln!("exported {written} records");
    Ok(())
}
