//! `karmadactl register ENDPOINT`

use std::time::Duration;

use clap::Args;
use karmadactl::client::connect::Target;
use karmadactl::ops::register::{self, RegisterOptions};
use karmadactl::output::{self, DocFormat};

use crate::GlobalArgs;

/// Register the cluster this kubeconfig points at with a control plane (pull mode)
#[derive(Debug, Args)]
#[command(
    long_about = "Register the cluster this kubeconfig points at with a control plane (pull mode).\n\n\
    Run it against the member (--kubeconfig and --context name the member, not the control \
    plane). It reads kube-public/cluster-info from ENDPOINT, accepts the control plane's CA \
    only if its public key hashes to --discovery-token-ca-cert-hash, asks for the agent's client \
    certificate with the bootstrap token (karmada-reconciler approves it and grants the agent \
    the rights of its own cluster; kube-controller-manager signs it), then installs in the \
    member's karmada-system the Secret karmada-agent-config (the agent's kubeconfig), the \
    karmada-agent ServiceAccount, ClusterRole and binding, and the karmada-agent Deployment \
    (karmada-reconciler --mode=agent). The agent creates the Cluster (syncMode Pull), renews \
    its Lease and applies the cluster's Works.\n\n\
    Running it again keeps a valid certificate and re-applies the rest; a failed run removes \
    what it created in the member. `karmadactl token create --print-register-command` prints \
    the command line.",
    after_help = "Examples:\n  \
    karmadactl register 10.0.0.5:32443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1a2b...\n  \
    karmadactl register 10.0.0.5:32443 --token ... --discovery-token-ca-cert-hash ... --cluster-name edge-7 --cluster-region eu-west\n  \
    karmadactl register 10.0.0.5:32443 --token ... --discovery-token-ca-cert-hash ... --dry-run"
)]
pub struct RegisterArgs {
    /// The control plane's API server, host:port
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: String,

    /// Bootstrap token (ID.SECRET) from `karmadactl token create`
    #[arg(long)]
    pub token: String,

    /// sha256:HASH of the control plane CA's public key
    #[arg(long, value_name = "sha256:HASH")]
    pub discovery_token_ca_cert_hash: String,

    /// Context of the member in --kubeconfig (default: its current context)
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Name of the cluster in the control plane (default: the member's context name)
    #[arg(long)]
    pub cluster_name: Option<String>,

    /// Cloud provider of the cluster
    #[arg(long, default_value = "")]
    pub cluster_provider: String,

    /// Region of the cluster
    #[arg(long, default_value = "")]
    pub cluster_region: String,

    /// Zones of the cluster (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub cluster_zones: Vec<String>,

    /// Verify the control plane and validate the member objects (server-side dry run); ask for
    /// no certificate and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Output format of what was (or would be) done
    #[arg(short, long, value_enum)]
    pub output: Option<DocFormat>,

    /// The agent's image (the karmada-reconciler image)
    #[arg(long, default_value_t = format!("docker.io/karmada/karmada-reconciler:v{}", env!("CARGO_PKG_VERSION")))]
    pub karmada_agent_image: String,

    /// Lifetime asked for the agent's certificate (the signer may shorten it); the agent
    /// renews it at 80% of its lifetime
    #[arg(long, default_value = "8760h", value_parser = karmadactl::duration::parse)]
    pub cert_expiration: Duration,

    /// How long to wait for the certificate to be approved and signed
    #[arg(long, default_value = "5m", value_parser = karmadactl::duration::parse)]
    pub timeout: Duration,
}

pub async fn run(args: RegisterArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if let Err(e) = register::validate_hash(&args.discovery_token_ca_cert_hash) {
        usage!("{e}");
    }
    if let Err(e) = karmadactl::ops::token::token_id(&args.token)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            if args.token.contains('.') {
                Ok(())
            } else {
                Err("--token must be the whole token, ID.SECRET".to_string())
            }
        })
    {
        usage!("{e}");
    }
    if let Some(name) = &args.cluster_name {
        crate::get::check_name(name)?;
    }
    let opts = RegisterOptions {
        endpoint: args
            .endpoint
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string(),
        token: args.token,
        ca_cert_hash: args.discovery_token_ca_cert_hash,
        cluster_name: args.cluster_name,
        provider: args.cluster_provider,
        region: args.cluster_region,
        zones: args.cluster_zones,
        dry_run: args.dry_run,
        member: Target {
            kubeconfig: global.kubeconfig.clone(),
            context: args.context,
        },
        image: args.karmada_agent_image,
        cert_expiration: args.cert_expiration,
        timeout: args.timeout,
    };
    let spinner = crate::progress::spinner("registering");
    let result = register::register(&opts, |m| spinner.set_message(m.to_string())).await;
    spinner.finish_and_clear();
    let report = result?;
    if let Some(format) = args.output {
        output::print(&output::document(&report, format)?);
        return Ok(());
    }
    let mut out = String::new();
    if report.reused_certificate {
        out.push_str("kept the agent's certificate from an earlier run (still valid)\n");
    }
    let verb = if opts.dry_run {
        "would apply"
    } else {
        "applied"
    };
    out.push_str(&format!(
        "{verb} in the member: {}\n",
        report.member_objects.join(", ")
    ));
    if opts.dry_run {
        out.push_str("(dry run: no certificate was requested and nothing was changed)\n");
    } else {
        out.push_str(&format!(
            "cluster({}) is registered with {} in pull mode; its agent creates the Cluster once it runs\n",
            report.cluster, report.control_plane
        ));
    }
    output::print(&out);
    Ok(())
}
