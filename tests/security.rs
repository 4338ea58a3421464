//! Security checks (docs/security.md):
//! - no token, private key or client certificate body appears in any log: the reconciler at
//!   RUST_LOG=trace during a join and a propagation, and `karmadactl -vvv` commands; and on
//!   error paths: a join that fails after it holds the member's tokens (and rolls back), the
//!   reconciler (`--log-json`) failing to apply a Secret template to a member, a refused
//!   `karmadactl apply` of a Secret;
//! - every file the tool writes that holds credentials is 0600 (kubeconfigs, the test bed's
//!   and local-up's PKI and kubeconfigs, init's kubeconfig and its backup);
//! - TLS verification is on unless `insecureSkipTLSVerification` turns it off.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use karmadactl::api::Cluster;
use karmadactl::kubeconfig::{Credential, Entry};
use karmadactl::testbed::{BedSpec, CONTROL_PLANE, Reconciler, TestBed};

const T: Duration = Duration::from_secs(90);

fn karmadactl(bed: &TestBed, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .arg("--kubeconfig")
        .arg(bed.kubeconfig())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run karmadactl");
    let text = format!(
        "$ karmadactl {args:?} ({})\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// The base64 lines of a PEM body (what a leak of the key would contain), skipping the
/// BEGIN/END lines; plus the whole PEM base64-encoded (as kubeconfigs and Secrets hold it).
fn pem_needles(pem: &str) -> Vec<String> {
    let mut out: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_string)
        .collect();
    out.push(base64::engine::general_purpose::STANDARD.encode(pem));
    out
}

fn token_needles(token: &str) -> Vec<String> {
    // A JWT's signature part alone identifies it; check it and the whole token, raw and base64.
    let mut out = vec![
        token.to_string(),
        base64::engine::general_purpose::STANDARD.encode(token),
    ];
    if let Some(sig) = token.rsplit('.').next().filter(|s| s.len() >= 20) {
        out.push(sig.to_string());
    }
    out
}

async fn secret_data(cp: &Client, ns: &str, name: &str, key: &str) -> String {
    let s = Api::<Secret>::namespaced(cp.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("secret {ns}/{name}: {e}"));
    String::from_utf8(s.data.unwrap()[key].0.clone()).unwrap()
}

fn key_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            key_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "key") {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_in_logs_at_any_verbosity() {
    let bed = TestBed::start(BedSpec {
        controller_manager: true,
        ..BedSpec::new(&["member1"])
    })
    .await
    .unwrap();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();
    let log = bed.dir().join("reconciler-trace.log");
    // stdout and stderr both go to the log.
    let mut reconciler = Reconciler::builder(env!("CARGO_BIN_EXE_karmada-reconciler"), &bed)
        .log(&log)
        .args(["--leader-elect=false"])
        .args(["--cluster-status-update-frequency", "1s"])
        .env("RUST_LOG", "trace")
        .start()
        .unwrap();

    let mut cli_output = String::new();
    cli_output += &karmadactl(
        &bed,
        &[
            "-vvv",
            "join",
            "member1",
            "--cluster-kubeconfig",
            &bed.kubeconfig().display().to_string(),
            "--cluster-context",
            "member1",
        ],
    );
    support::apply_yaml(
        &cp,
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: sec, namespace: default, labels: {app: sec}}
spec:
  replicas: 1
  selector: {matchLabels: {app: sec}}
  template:
    metadata: {labels: {app: sec}}
    spec: {containers: [{name: sec, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: sec, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: sec}]
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#,
    )
    .await;
    let m1 = bed.client("member1").await.unwrap();
    support::eventually("sec in member1", T, &log, || async {
        support::exists(&m1, "apps/v1", "Deployment", "default", "sec")
            .await
            .then_some(())
    })
    .await;
    for args in [
        &["-vvv", "get", "clusters"][..],
        &["-vvv", "describe", "cluster", "member1"],
        &[
            "-vvv",
            "get",
            "deployments",
            "--operation-scope",
            "members",
            "-C",
            "member1",
            "-n",
            "default",
        ],
        &["-vvv", "cordon", "member1"],
        &["-vvv", "uncordon", "member1"],
    ] {
        cli_output += &karmadactl(&bed, args);
    }
    // A few more probes at trace level, then stop the reconciler so its log is complete.
    tokio::time::sleep(Duration::from_secs(3)).await;
    reconciler.kill();
    let reconciler_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        reconciler_log.contains("TRACE"),
        "the reconciler did not log at trace level"
    );

    // Everything secret that was around: the member's join tokens, every private key, the
    // admin client certificates.
    let mut needles: Vec<(String, String)> = Vec::new();
    for (secret, what) in [
        ("member1", "member1 token (join)"),
        ("member1-impersonator", "impersonator token"),
    ] {
        let token = secret_data(&cp, "karmada-cluster", secret, "token").await;
        needles.extend(token_needles(&token).into_iter().map(|n| (what.into(), n)));
    }
    needles.extend(bed_needles(&bed));
    let leaks = leaks(
        &[
            ("reconciler log", &reconciler_log),
            ("karmadactl -vvv", &cli_output),
        ],
        &needles,
    );
    assert!(leaks.is_empty(), "credentials leaked: {leaks:#?}");
}

/// Markers of a credential whatever its origin: PEM armour, a bearer header, a JWT (the base64
/// of `{"alg":` that starts every service-account token), raw or base64-encoded again.
const MARKERS: &[&str] = &[
    "PRIVATE KEY-----",
    "BEGIN CERTIFICATE",
    "Bearer ey",
    "\"token\":\"ey",
    "eyJhbGciOi",
    "ZXlKaGJHY2lPaU",
];

/// Every (what, needle) and marker found in the texts, as "X appears in Y" lines.
fn leaks(texts: &[(&str, &str)], needles: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (source, text) in texts {
        for (what, needle) in needles {
            if text.contains(needle.as_str()) {
                out.push(format!("{what} appears in the {source}"));
            }
        }
        for marker in MARKERS {
            if text.contains(marker) {
                out.push(format!("{marker:?} appears in the {source}"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Needles for every private key under `dir` (the bed's PKI) and every client certificate of
/// its kubeconfig.
fn bed_needles(bed: &TestBed) -> Vec<(String, String)> {
    let mut needles = Vec::new();
    let mut keys = Vec::new();
    key_files(bed.dir(), &mut keys);
    assert!(
        keys.len() >= 6,
        "expected the bed's private keys, found {keys:?}"
    );
    for path in &keys {
        let pem = std::fs::read_to_string(path).unwrap();
        needles.extend(
            pem_needles(&pem)
                .into_iter()
                .map(|n| (path.display().to_string(), n)),
        );
    }
    let kc = kube::config::Kubeconfig::read_from(bed.kubeconfig()).unwrap();
    for auth in &kc.auth_infos {
        let info = auth.auth_info.as_ref().unwrap();
        if let Some(data) = &info.client_certificate_data {
            let pem = String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .unwrap(),
            )
            .unwrap();
            needles.extend(
                pem_needles(&pem)
                    .into_iter()
                    .map(|n| (format!("client certificate of {}", auth.name), n)),
            );
        }
    }
    needles
}

/// Runs karmadactl expecting it to fail; returns what it printed.
fn karmadactl_fails(bed: &TestBed, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .arg("--kubeconfig")
        .arg(bed.kubeconfig())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run karmadactl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "$ karmadactl {args:?} ({})\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "should have failed: {text}");
    text
}

/// A random value nobody else would print.
fn random_secret() -> String {
    format!(
        "s3cr3t-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A ValidatingAdmissionPolicy that refuses every Secret written in `ns` (created with the
/// namespace if need be); returns once the API server enforces it.
async fn block_secrets(client: &Client, ns: &str) {
    support::apply_yaml(
        client,
        &format!(
            r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: no-secrets-{ns}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [secrets]}}
  validations:
  - {{expression: "false", message: "secrets are blocked by policy no-secrets"}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: no-secrets-{ns}}}
spec:
  policyName: no-secrets-{ns}
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}
"#
        ),
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let probe: Secret = serde_json::from_value(json!({"metadata": {"name": "probe"}})).unwrap();
    let dry = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    for _ in 0..100 {
        if secrets.create(&dry, &probe).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the policy blocking Secrets in {ns} is not enforced");
}

async fn unblock_secrets(client: &Client, ns: &str) {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    let name = format!("no-secrets-{ns}");
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .delete(&name, &Default::default())
        .await
        .unwrap();
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .delete(&name, &Default::default())
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let probe: Secret = serde_json::from_value(json!({"metadata": {"name": "probe"}})).unwrap();
    let dry = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    for _ in 0..100 {
        if secrets.create(&dry, &probe).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Secrets in {ns} are still blocked");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_in_logs_on_error_paths() {
    let bed = TestBed::start(BedSpec {
        controller_manager: true,
        ..BedSpec::new(&["member1"])
    })
    .await
    .unwrap();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = bed.client("member1").await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();
    let log = bed.dir().join("reconciler-json.log");
    let mut reconciler = Command::new(env!("CARGO_BIN_EXE_karmada-reconciler"))
        .args(["--kubeconfig"])
        .arg(bed.kubeconfig())
        .args([
            "--context",
            CONTROL_PLANE,
            "--leader-elect=false",
            "--log-json",
        ])
        .args(["--metrics-bind-address", "127.0.0.1:0"])
        .args(["--cluster-status-update-frequency", "1s"])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let kcs = bed.kubeconfig().display().to_string();
    let join = [
        "-vvv",
        "join",
        "member1",
        "--cluster-kubeconfig",
        kcs.as_str(),
        "--cluster-context",
        "member1",
    ];
    let mut cli_output = String::new();

    // 1. A join that fails after it holds the member's tokens: the control plane refuses the
    //    credential Secrets (an admission policy), so join rolls back.
    block_secrets(&cp, "karmada-cluster").await;
    let failed = karmadactl_fails(&bed, &join, None);
    assert!(
        failed.contains("no-secrets") || failed.contains("quota"),
        "{failed}"
    );
    cli_output += &failed;
    unblock_secrets(&cp, "karmada-cluster").await;
    // The rollback deleted the member's karmada-cluster namespace; the bed's members run no
    // namespace controller, so finish that (it is empty) as one would.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(m1.clone());
    if let Some(mut ns) = namespaces.get_opt("karmada-cluster").await.unwrap() {
        if let Some(spec) = ns.spec.as_mut() {
            spec.finalizers = Some(vec![]);
        }
        namespaces
            .replace_subresource(
                "finalize",
                "karmada-cluster",
                &kube::api::PostParams::default(),
                &ns,
            )
            .await
            .unwrap();
    }
    cli_output += &karmadactl(&bed, &join);

    // 2. The reconciler fails to apply a Secret template to the member (a policy there).
    let password = random_secret();
    block_secrets(&m1, "leaky").await;
    support::apply_yaml(
        &cp,
        &format!(
            r#"
apiVersion: v1
kind: Namespace
metadata: {{name: leaky}}
---
apiVersion: v1
kind: Secret
metadata: {{name: leaky, namespace: leaky}}
stringData: {{password: {password}}}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: leaky, namespace: leaky}}
spec:
  resourceSelectors: [{{apiVersion: v1, kind: Secret, name: leaky}}]
  placement: {{clusterAffinity: {{clusterNames: [member1]}}}}
"#
        ),
    )
    .await;
    support::eventually("the member refused the Secret", T, &log, || async {
        let works: Api<karmadactl::api::Work> = Api::namespaced(cp.clone(), "karmada-es-member1");
        let list = works.list(&Default::default()).await.ok()?;
        list.items.iter().find(|w| {
            w.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| {
                    c.type_ == "Applied" && c.status == "False" && c.message.contains("no-secrets")
                })
            })
        })?;
        Some(())
    })
    .await;
    // A few more retries at trace level.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // 3. karmadactl apply refused by the control plane: the Secret's data is owned by another
    //    field manager.
    let other = random_secret();
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: owned, namespace: leaky}}\nstringData: {{password: {other}}}\n"
    );
    support::apply_yaml(&cp, &yaml).await;
    let mine = random_secret();
    let failed = karmadactl_fails(
        &bed,
        &["-vvv", "apply", "-f", "-", "-C", "member1"],
        Some(&yaml.replace(&other, &mine)),
    );
    assert!(failed.contains("conflict"), "{failed}");
    cli_output += &failed;

    reconciler.kill().unwrap();
    reconciler.wait().unwrap();
    let reconciler_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        reconciler_log.contains("\"level\":\"TRACE\""),
        "the reconciler did not log JSON at trace level"
    );
    assert!(
        reconciler_log.contains("no-secrets"),
        "the failed member apply is in the reconciler log"
    );

    let mut needles = bed_needles(&bed);
    for (secret, what) in [
        ("member1", "member1 token (join)"),
        ("member1-impersonator", "impersonator token"),
    ] {
        let token = secret_data(&cp, "karmada-cluster", secret, "token").await;
        needles.extend(token_needles(&token).into_iter().map(|n| (what.into(), n)));
    }
    for (what, value) in [
        ("propagated Secret data", &password),
        ("Secret data of the refused apply", &mine),
        ("Secret data of the conflicting owner", &other),
    ] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        needles.push((what.into(), value.clone()));
        needles.push((what.into(), b64));
    }
    let leaks = leaks(
        &[
            ("reconciler --log-json log", &reconciler_log),
            ("karmadactl -vvv", &cli_output),
        ],
        &needles,
    );
    assert!(leaks.is_empty(), "credentials leaked: {leaks:#?}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn holds_credentials(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    [
        "PRIVATE KEY",
        "client-key-data",
        "token:",
        "client-certificate-data",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn credential_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            // etcd's data directory is etcd's own.
            if path.file_name().is_some_and(|n| n == "data") {
                continue;
            }
            credential_files(&path, out);
        } else if holds_credentials(&path) {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credential_files_are_owner_only() {
    // The test bed (and so hack/local-up.sh, which runs it through karmada-testbed):
    // certificates, keys, per-cluster and combined kubeconfigs.
    let bed = TestBed::start(BedSpec {
        controller_manager: true,
        ..BedSpec::new(&[])
    })
    .await
    .unwrap();
    let mut files = Vec::new();
    credential_files(bed.dir(), &mut files);
    assert!(
        files.len() >= 6,
        "expected keys and kubeconfigs under {}, found {files:?}",
        bed.dir().display()
    );
    let loose: Vec<String> = files
        .iter()
        .filter(|f| mode(f) != 0o600)
        .map(|f| format!("{} is {:o}", f.display(), mode(f)))
        .collect();
    assert!(loose.is_empty(), "credential files not 0600: {loose:#?}");

    // src/kubeconfig.rs: new files, and an existing world-readable file rewritten.
    let dir = tempfile::tempdir().unwrap();
    let entry = Entry {
        name: "karmada-apiserver".into(),
        server: "https://127.0.0.1:6443".into(),
        ca_pem: bed.cluster(CONTROL_PLANE).ca_pem.clone(),
        credential: Credential::Token("not-a-real-token".into()),
    };
    let fresh = dir.path().join("sub/fresh.config");
    karmadactl::kubeconfig::write(&fresh, &entry.to_kubeconfig()).unwrap();
    assert_eq!(mode(&fresh), 0o600);
    let existing = dir.path().join("existing.config");
    std::fs::write(&existing, "apiVersion: v1\nkind: Config\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    karmadactl::kubeconfig::write(&existing, &entry.to_kubeconfig()).unwrap();
    assert_eq!(mode(&existing), 0o600, "an existing file is tightened");

    // init's karmada.config merge and the backup of what it replaced.
    let merged = dir.path().join("karmada.config");
    std::fs::write(&merged, std::fs::read_to_string(bed.kubeconfig()).unwrap()).unwrap();
    std::fs::set_permissions(&merged, std::fs::Permissions::from_mode(0o644)).unwrap();
    let backup = karmadactl::ops::init::write_kubeconfig(&merged, &[entry]).unwrap();
    assert_eq!(mode(&merged), 0o600);
    let backup = backup.expect("a changed file is backed up");
    assert!(holds_credentials(&backup));
    assert_eq!(mode(&backup), 0o600, "the backup holds the old credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_verification_is_on_unless_turned_off() {
    let fed = support::federation(&["member1"]).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let log = fed.bed.dir().join("reconciler.log");
    let token = secret_data(&cp, "karmada-cluster", "member1", "token").await;
    // The member's real endpoint and token, but another cluster's CA.
    let wrong_ca = fed.bed.cluster(CONTROL_PLANE).ca_pem.clone();
    let secrets: Api<Secret> = Api::namespaced(cp.clone(), "karmada-cluster");
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let apply = PatchParams::apply("security-test").force();
    for (name, insecure) in [("wrong-ca", false), ("wrong-ca-insecure", true)] {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "karmada-cluster"},
            "stringData": {"token": token, "caBundle": wrong_ca}
        });
        secrets
            .patch(name, &apply, &Patch::Apply(&secret))
            .await
            .unwrap();
        let cluster = json!({
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Push", "apiEndpoint": fed.bed.cluster("member1").server,
                "insecureSkipTLSVerification": insecure,
                "secretRef": {"namespace": "karmada-cluster", "name": name}}
        });
        clusters
            .patch(name, &apply, &Patch::Apply(&cluster))
            .await
            .unwrap();
    }

    // Directly: the member client refuses the server's certificate...
    let strict = clusters.get("wrong-ca").await.unwrap();
    let client = karmadactl::client::member::client(&cp, &strict, Duration::from_secs(5))
        .await
        .unwrap();
    let err = client
        .apiserver_version()
        .await
        .expect_err("a wrong caBundle must not verify");
    let msg = format!("{err:?}").to_lowercase();
    assert!(
        msg.contains("certificate") || msg.contains("tls") || msg.contains("unknownissuer"),
        "expected a TLS verification error, got {msg}"
    );
    // ...and only the flag turns verification off.
    let insecure = clusters.get("wrong-ca-insecure").await.unwrap();
    karmadactl::client::member::client(&cp, &insecure, Duration::from_secs(5))
        .await
        .unwrap()
        .apiserver_version()
        .await
        .expect("insecureSkipTLSVerification: true skips verification");

    // The reconciler agrees: wrong-ca never becomes Ready, the insecure one does.
    let ready = |name: &'static str| {
        let clusters = clusters.clone();
        async move {
            let c = clusters.get(name).await.ok()?;
            c.status?
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.status.clone())
        }
    };
    support::eventually("wrong-ca-insecure Ready", T, &log, || async {
        (ready("wrong-ca-insecure").await.as_deref() == Some("True")).then_some(())
    })
    .await;
    support::eventually("wrong-ca Ready=False", T, &log, || async {
        (ready("wrong-ca").await.as_deref() == Some("False")).then_some(())
    })
    .await;
}
