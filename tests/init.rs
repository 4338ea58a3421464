//! `karmadactl init` / `deinit` where Docker cannot run. Stand-in `docker` and `kind` scripts
//! (written into a temp dir that is the whole PATH of karmadactl) record their arguments; the
//! "kind cluster" is a test-bed kube-apiserver (`kind get kubeconfig` prints its kubeconfig).
//!
//! Pods never run on a test bed, so the test plays kubelet: a background task marks the
//! Deployments and the StatefulSet ready by patching their status, and for karmada-apiserver it
//! first starts a real kube-apiserver with the exact flags of the Deployment (certificate paths
//! mapped to files written from the `karmada-cert` Secret, its port to the NodePort, etcd to a
//! local etcd with the generated etcd certificates), so init's own wait, CRD install and
//! kubeconfig are exercised against the control plane it created.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use karmadactl::install::manifests::{self, NAMESPACE};
use karmadactl::testbed::{self, BedSpec, CONTROL_PLANE, TestBed};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde_json::json;

const DOCKER: &str = r#"#!/bin/sh
PATH=/usr/bin:/bin
echo "docker $*" >> "$STUB_DIR/calls"
case "$1" in
  info)
    if [ -f "$STUB_DIR/docker-down" ]; then
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
      exit 1
    fi
    echo 28.0.0 ;;
esac
exit 0
"#;

const KIND: &str = r#"#!/bin/sh
PATH=/usr/bin:/bin
echo "kind $*" >> "$STUB_DIR/calls"
case "$1 $2" in
  "get clusters") cat "$STUB_DIR/clusters" 2>/dev/null ;;
  "create cluster") echo "$4" >> "$STUB_DIR/clusters"; cp "$6" "$STUB_DIR/kind-config.yaml" ;;
  "get kubeconfig") cat "$STUB_DIR/host.kubeconfig" ;;
  "delete cluster") : > "$STUB_DIR/clusters" ;;
esac
exit 0
"#;

struct Stubs {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Stubs {
    fn new(docker: bool, kind: bool) -> Stubs {
        let dir = tempfile::tempdir().unwrap();
        for (name, script, wanted) in [("docker", DOCKER, docker), ("kind", KIND, kind)] {
            if wanted {
                let path = dir.path().join(name);
                std::fs::write(&path, script).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        Stubs {
            dir,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    fn karmada_config(&self) -> PathBuf {
        self.home.path().join(".kube/karmada.config")
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_karmadactl"));
        cmd.env("PATH", self.dir.path())
            .env("STUB_DIR", self.dir.path())
            .env("HOME", self.home.path())
            .env("KUBECONFIG", "/nonexistent/karmadactl-test-kubeconfig")
            .stdin(Stdio::null());
        cmd
    }

    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().await.unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A free port in the NodePort range, a different one for each test of this process (tests
/// run in parallel and bind theirs later).
fn free_node_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let offset = NEXT.fetch_add(50, Ordering::Relaxed);
    let start = 30000 + (std::process::id() % 2000) as u16 + offset;
    (start..32767)
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 30000-32767")
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Child processes killed on drop.
#[derive(Default)]
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Starts etcd (with the generated etcd certificates) and kube-apiserver with the Deployment's
/// own flags on `node_port`; returns once `/readyz` answers.
async fn start_control_plane(
    host: &Client,
    ns: &str,
    work: &Path,
    node_port: u16,
    procs: &mut Procs,
) {
    let pki = work.join("pki");
    let secret = Api::<Secret>::namespaced(host.clone(), ns)
        .get(manifests::CERT_SECRET)
        .await
        .unwrap();
    for (k, v) in secret.data.unwrap() {
        karmadactl::kubeconfig::write_private(&pki.join(k), &v.0).unwrap();
    }
    let bin = testbed::binaries_dir();
    let deployment = Api::<Deployment>::namespaced(host.clone(), ns)
        .get(manifests::APISERVER)
        .await
        .unwrap();
    let command = deployment.spec.template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap();
    assert_eq!(command[0], "kube-apiserver");
    // An external etcd (--external-etcd-servers) is already running: use it as configured,
    // with its certificates from their own Secret.
    let external = !command
        .iter()
        .any(|a| a.starts_with("--etcd-servers=") && a.contains(".svc.cluster.local"));
    let external_dir = work.join("external-etcd");
    let etcd_url = if external {
        if let Some(secret) = Api::<Secret>::namespaced(host.clone(), ns)
            .get_opt(manifests::EXTERNAL_ETCD_SECRET)
            .await
            .unwrap()
        {
            for (k, v) in secret.data.unwrap() {
                karmadactl::kubeconfig::write_private(&external_dir.join(k), &v.0).unwrap();
            }
        }
        None
    } else {
        Some(start_etcd(host, ns, &bin, &pki, work, procs).await)
    };
    let pki_dir = pki.display().to_string();
    let external_dir = external_dir.display().to_string();
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| {
            let a = a
                .replace(manifests::PKI_DIR, &pki_dir)
                .replace(manifests::EXTERNAL_ETCD_DIR, &external_dir)
                .replace("$(POD_IP)", "127.0.0.1");
            if a.starts_with("--secure-port=") {
                format!("--secure-port={node_port}")
            } else if a.starts_with("--etcd-servers=")
                && let Some(url) = &etcd_url
            {
                format!("--etcd-servers={url}")
            } else if a.starts_with("--bind-address=") {
                "--bind-address=127.0.0.1".into()
            } else {
                a
            }
        })
        .collect();

    let log = work.join("kube-apiserver.log");
    procs
        .0
        .push(spawn(&bin.join("kube-apiserver"), &args, &log));

    let ca_pem = std::fs::read_to_string(pki.join("ca.crt")).unwrap();
    for _ in 0..240 {
        if apiserver_answers(&ca_pem, node_port).await {
            if let Some(url) = &etcd_url {
                etcd_trusts_its_own_ca_only(&pki, url).await;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "kube-apiserver from the manifest did not become ready\n{}\n--- etcd ---\n{}",
        tail(&log),
        tail(&work.join("etcd.log"))
    );
}

/// Starts etcd with the generated etcd certificates (client certificates required); returns its
/// client URL.
async fn start_etcd(
    host: &Client,
    ns: &str,
    bin: &Path,
    pki: &Path,
    work: &Path,
    procs: &mut Procs,
) -> String {
    let etcd_port = free_port();
    let peer_port = free_port();
    let etcd_url = format!("https://127.0.0.1:{etcd_port}");
    let pki_dir = pki.display().to_string();
    let mut etcd_args = vec![
        "--name=test".to_string(),
        format!("--data-dir={}", work.join("etcd").display()),
        format!("--listen-client-urls={etcd_url}"),
        format!("--advertise-client-urls={etcd_url}"),
        format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
        format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
        format!("--initial-cluster=test=http://127.0.0.1:{peer_port}"),
        "--unsafe-no-fsync=true".into(),
        "--log-level=warn".into(),
    ];
    // The client TLS flags exactly as the StatefulSet has them: which certificate etcd serves
    // and which CA it trusts.
    let statefulset = Api::<StatefulSet>::namespaced(host.clone(), ns)
        .get(manifests::ETCD)
        .await
        .unwrap();
    let etcd_command = statefulset.spec.template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap();
    for flag in [
        "--cert-file=",
        "--key-file=",
        "--trusted-ca-file=",
        "--client-cert-auth=",
    ] {
        let arg = etcd_command
            .iter()
            .find(|a| a.starts_with(flag))
            .unwrap_or_else(|| panic!("etcd has {flag}: {etcd_command:?}"));
        etcd_args.push(arg.replace(manifests::PKI_DIR, &pki_dir));
    }
    procs
        .0
        .push(spawn(&bin.join("etcd"), &etcd_args, &work.join("etcd.log")));
    etcd_url
}

/// A readiness check through a kube client that trusts only the generated CA and names the
/// server by 127.0.0.1 (which the serving certificate must cover). A 401 for the bogus token
/// already proves the TLS handshake verified.
async fn apiserver_answers(ca_pem: &str, port: u16) -> bool {
    let entry = karmadactl::kubeconfig::Entry {
        name: "probe".into(),
        server: format!("https://127.0.0.1:{port}"),
        ca_pem: ca_pem.into(),
        credential: karmadactl::kubeconfig::Credential::Token("none".into()),
    };
    let Ok(client) = karmadactl::ops::init::client_for_entry(&entry).await else {
        return false;
    };
    let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
    match client.request_text(req).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) => s.code == 401,
        Err(_) => false,
    }
}

/// etcd (with the StatefulSet's TLS flags) lets in the apiserver's etcd client certificate,
/// and nothing else the control plane's CA signed: not the admin's, not the reconciler's.
async fn etcd_trusts_its_own_ca_only(pki: &Path, etcd_url: &str) {
    let read = |f: &str| std::fs::read_to_string(pki.join(f)).unwrap();
    let version = |leaf: &str| {
        let entry = karmadactl::kubeconfig::Entry {
            name: "etcd".into(),
            server: etcd_url.into(),
            ca_pem: read("etcd-ca.crt"),
            credential: karmadactl::kubeconfig::Credential::ClientCert {
                cert_pem: read(&format!("{leaf}.crt")),
                key_pem: read(&format!("{leaf}.key")),
            },
        };
        async move {
            let client = karmadactl::ops::init::client_for_entry(&entry)
                .await
                .unwrap();
            let req = http::Request::get("/version").body(Vec::new()).unwrap();
            client.request_text(req).await
        }
    };
    let answer = version("etcd-client")
        .await
        .expect("etcd answers the apiserver's etcd client certificate");
    assert!(answer.contains("etcdserver"), "{answer}");
    for leaf in ["admin", "reconciler", "kube-controller-manager"] {
        let refused = version(leaf).await;
        assert!(refused.is_err(), "etcd let in {leaf}.crt: {refused:?}");
    }
}

async fn mark_ready(host: &Client, ns: &str, apiserver_up: bool) {
    let pp = PatchParams::default();
    let deployments = Api::<Deployment>::namespaced(host.clone(), ns);
    for d in deployments
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        let name = d.name_any();
        if name == manifests::APISERVER && !apiserver_up {
            continue;
        }
        let replicas = d.spec.replicas.unwrap_or(1);
        let st = d.status.clone().unwrap_or_default();
        if st.ready_replicas == Some(replicas) && st.observed_generation == d.metadata.generation {
            continue;
        }
        let status = json!({"status": {
            "observedGeneration": d.metadata.generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
        }});
        let _ = deployments
            .patch_status(&name, &pp, &Patch::Merge(&status))
            .await;
    }
    let sets = Api::<StatefulSet>::namespaced(host.clone(), ns);
    for s in sets
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        let replicas = s.spec.replicas.unwrap_or(1);
        let st = s.status.clone().unwrap_or_default();
        if st.ready_replicas == Some(replicas) && st.observed_generation == s.metadata.generation {
            continue;
        }
        let status = json!({"status": {
            "observedGeneration": s.metadata.generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
            "availableReplicas": replicas,
        }});
        let _ = sets
            .patch_status(&s.name_any(), &pp, &Patch::Merge(&status))
            .await;
    }
}

/// Plays kubelet until dropped: see the module comment.
fn kubelet(
    host: Client,
    ns: &str,
    work: PathBuf,
    node_port: u16,
) -> (tokio::task::JoinHandle<Procs>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let ns = ns.to_string();
    let task = tokio::spawn(async move {
        let mut procs = Procs::default();
        let mut up = false;
        while !stopped.load(Ordering::Relaxed) {
            if !up {
                let deployed = Api::<Deployment>::namespaced(host.clone(), &ns)
                    .get_opt(manifests::APISERVER)
                    .await
                    .ok()
                    .flatten()
                    .is_some();
                if deployed {
                    start_control_plane(&host, &ns, &work, node_port, &mut procs).await;
                    up = true;
                }
            }
            mark_ready(&host, &ns, up).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        procs
    });
    (task, stop)
}

async fn resource_versions(host: &Client, ns: &str) -> Vec<(String, String)> {
    let lp = ListParams::default();
    let mut out = Vec::new();
    macro_rules! collect {
        ($t:ty) => {
            for o in Api::<$t>::namespaced(host.clone(), ns)
                .list(&lp)
                .await
                .unwrap()
            {
                out.push((
                    format!("{}/{}", stringify!($t), o.name_any()),
                    o.resource_version().unwrap(),
                ));
            }
        };
    }
    collect!(Deployment);
    collect!(StatefulSet);
    collect!(Service);
    collect!(Secret);
    collect!(ServiceAccount);
    collect!(Role);
    collect!(RoleBinding);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_on_kind_stand_in_then_rerun_then_deinit() {
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("test bed");
    let host = bed.client(CONTROL_PLANE).await.unwrap();
    let stubs = Stubs::new(true, true);
    std::fs::copy(
        &bed.cluster(CONTROL_PLANE).kubeconfig,
        stubs.dir.path().join("host.kubeconfig"),
    )
    .unwrap();
    let port = free_node_port();
    let port_s = port.to_string();
    let work = tempfile::tempdir().unwrap();

    // 1. Nothing becomes ready: init times out and says what it saw and how to retry.
    let (ok, _, err) = stubs
        .run(&["init", "--port", &port_s, "--wait-timeout", "2"])
        .await;
    assert!(!ok);
    assert!(err.contains("etcd is not ready after 2s"), "{err}");
    assert!(err.contains("no pods of etcd exist"), "{err}");
    assert!(err.contains("run `karmadactl init` again"), "{err}");
    let calls = stubs.calls();
    assert!(calls.contains("docker info"), "{calls}");
    assert!(
        calls.contains("kind create cluster --name karmada-host --config"),
        "{calls}"
    );
    let kind_config = std::fs::read_to_string(stubs.dir.path().join("kind-config.yaml")).unwrap();
    assert!(
        kind_config.contains(&format!("hostPort: {port}")),
        "{kind_config}"
    );
    assert!(
        calls.contains("docker build -t karmada-reconciler:v"),
        "{calls}"
    );
    assert!(
        calls.contains("kind load docker-image karmada-reconciler:v"),
        "{calls}"
    );
    // Every rendered object was accepted by a real apiserver.
    let first_certs = Api::<Secret>::namespaced(host.clone(), NAMESPACE)
        .get(manifests::CERT_SECRET)
        .await
        .unwrap();

    // 2. With a "kubelet": init completes against the kube-apiserver its manifest describes.
    let (kubelet_task, stop) = kubelet(host.clone(), NAMESPACE, work.path().to_path_buf(), port);
    let (ok, out, err) = stubs
        .run(&["init", "--port", &port_s, "--wait-timeout", "120"])
        .await;
    assert!(ok, "init failed:\nstdout: {out}\nstderr: {err}");
    assert!(out.contains("export KUBECONFIG="), "{out}");
    assert!(out.contains("karmadactl join"), "{out}");
    assert_eq!(
        stubs.calls().matches("kind create cluster").count(),
        1,
        "the existing kind cluster is reused"
    );
    let certs = Api::<Secret>::namespaced(host.clone(), NAMESPACE)
        .get(manifests::CERT_SECRET)
        .await
        .unwrap();
    assert_eq!(
        certs.data, first_certs.data,
        "certificates are reused, not reissued"
    );

    // The kubeconfig: 0600, both contexts, and it reaches karmada-apiserver with TLS verified.
    let kc_path = stubs.karmada_config();
    let mode = std::fs::metadata(&kc_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let cp = karmadactl::client::connect::client_for(&kc_path, Some("karmada-apiserver"))
        .await
        .unwrap();
    let crds = Api::<CustomResourceDefinition>::all(cp.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        crds.iter()
            .any(|c| c.name_any() == "propagationpolicies.policy.karmada.io"),
        "CRDs installed into karmada-apiserver"
    );
    let via_host_context = karmadactl::client::connect::client_for(&kc_path, Some("karmada-host"))
        .await
        .unwrap();
    Api::<Deployment>::namespaced(via_host_context, NAMESPACE)
        .get(manifests::RECONCILER)
        .await
        .expect("the karmada-host context reaches the host");

    // 3. The reconciler runs with the kubeconfig from its Secret and the Deployment's args.
    let secret = Api::<Secret>::namespaced(host.clone(), NAMESPACE)
        .get(manifests::RECONCILER_KUBECONFIG_SECRET)
        .await
        .unwrap();
    let kubeconfig = String::from_utf8(secret.data.unwrap()[manifests::KUBECONFIG_KEY].0.clone())
        .unwrap()
        .replace(
            &manifests::in_cluster_server(NAMESPACE),
            &format!("https://127.0.0.1:{port}"),
        );
    let rc_kubeconfig = work.path().join("reconciler.kubeconfig");
    std::fs::write(&rc_kubeconfig, kubeconfig).unwrap();
    let deployment = Api::<Deployment>::namespaced(host.clone(), NAMESPACE)
        .get(manifests::RECONCILER)
        .await
        .unwrap();
    let rc_args: Vec<String> = deployment.spec.template.spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap()
        .into_iter()
        .map(|a| {
            if a.starts_with("--kubeconfig=") {
                format!("--kubeconfig={}", rc_kubeconfig.display())
            } else if a.starts_with("--metrics-bind-address=") {
                "--metrics-bind-address=127.0.0.1:0".into()
            } else {
                a
            }
        })
        .collect();
    let rc_log = work.path().join("reconciler.log");
    let _reconciler = Procs(vec![spawn(
        Path::new(env!("CARGO_BIN_EXE_karmada-reconciler")),
        &rc_args,
        &rc_log,
    )]);
    let leases = Api::<Lease>::namespaced(cp.clone(), NAMESPACE);
    let mut held = false;
    for _ in 0..120 {
        if let Ok(Some(l)) = leases.get_opt("karmada-reconciler").await
            && l.spec.and_then(|s| s.holder_identity).is_some()
        {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        held,
        "the reconciler took its lease in karmada-apiserver\n{}",
        tail(&rc_log)
    );

    // 4. Running init again changes nothing.
    let before = resource_versions(&host, NAMESPACE).await;
    let cr_before = Api::<ClusterRole>::all(cp.clone())
        .get("karmada-reconciler")
        .await
        .unwrap()
        .resource_version();
    let kc_before = std::fs::read(&kc_path).unwrap();
    let (ok, out, err) = stubs
        .run(&["init", "--port", &port_s, "--wait-timeout", "60"])
        .await;
    assert!(ok, "second init failed:\nstdout: {out}\nstderr: {err}");
    assert_eq!(resource_versions(&host, NAMESPACE).await, before);
    let cr_after = Api::<ClusterRole>::all(cp.clone())
        .get("karmada-reconciler")
        .await
        .unwrap()
        .resource_version();
    assert_eq!(cr_before, cr_after);
    assert_eq!(std::fs::read(&kc_path).unwrap(), kc_before);

    // 5. deinit: --dry-run lists and changes nothing; refuses without a terminal or -f/--yes;
    // then removes everything, twice.
    let (ok, out, err) = stubs.run(&["deinit", "--dry-run"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("Deployment/karmada-system/karmada-apiserver")
            && out.contains("Namespace/karmada-system"),
        "{out}"
    );
    assert_eq!(
        resource_versions(&host, NAMESPACE).await,
        before,
        "--dry-run deletes nothing"
    );
    assert_eq!(std::fs::read(&kc_path).unwrap(), kc_before);
    let out = stubs.command().arg("deinit").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("-f/--force"));
    let (ok, _, err) = stubs.run(&["deinit", "-f"]).await;
    assert!(ok, "{err}");
    assert!(
        err.contains("Deployment/karmada-system/karmada-apiserver"),
        "{err}"
    );
    let left = resource_versions(&host, NAMESPACE).await;
    assert!(
        left.iter()
            .all(|(k, _)| k.contains("default-token") || k.starts_with("ServiceAccount/default")),
        "left behind: {left:?}"
    );
    let kc = kube::config::Kubeconfig::read_from(&kc_path).unwrap();
    assert!(
        kc.contexts.is_empty(),
        "contexts removed: {:?}",
        kc.contexts
    );
    let (ok, _, err) = stubs
        .run(&["deinit", "--yes", "--delete-kind-cluster"])
        .await;
    assert!(ok, "deinit is idempotent: {err}");
    assert!(
        stubs
            .calls()
            .contains("kind delete cluster --name karmada-host")
    );

    stop.store(true, Ordering::Relaxed);
    drop(kubelet_task.await.unwrap());
}

/// A plain HTTP POST with std only (etcd's JSON gateway on a loopback port).
fn http_post(port: u16, path: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// How many keys etcd (JSON gateway at `port`) holds under `prefix`.
fn etcd_keys_under(port: u16, prefix: &str) -> u64 {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().unwrap() += 1;
    let body = json!({
        "key": b64(prefix),
        "range_end": b64(std::str::from_utf8(&end).unwrap()),
        "count_only": true,
    });
    // The gateway answers 503 until its own connection to etcd is up.
    let mut reply = String::new();
    for _ in 0..50 {
        reply = http_post(port, "/v3/kv/range", &body.to_string());
        if reply.starts_with("HTTP/1.1 200") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "etcd range {prefix}: {reply}"
    );
    reply
        .split("\"count\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_an_external_etcd() {
    use karmadactl::install::manifests::{Pki, PkiRequest};
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("test bed");
    let host = bed.client(CONTROL_PLANE).await.unwrap();
    let stubs = Stubs::new(true, true);
    std::fs::copy(
        &bed.cluster(CONTROL_PLANE).kubeconfig,
        stubs.dir.path().join("host.kubeconfig"),
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    // Upstream's -n: everything goes into this namespace of the host instead of karmada-system.
    let ns = "karmada-ext";

    // An etcd of its own CA: client certificates required on https, plus a plain loopback
    // port to look inside.
    let ext = Pki::complete(
        None,
        &PkiRequest {
            extra_sans: vec![],
            validity: Duration::from_secs(3600),
            ca: None,
            etcd_replicas: 1,
            namespace: NAMESPACE.into(),
        },
    )
    .unwrap();
    let certs = work.path().join("ext");
    for f in [
        "etcd-ca.crt",
        "etcd-server.crt",
        "etcd-server.key",
        "etcd-client.crt",
        "etcd-client.key",
    ] {
        karmadactl::kubeconfig::write_private(&certs.join(f), ext.get(f).as_bytes()).unwrap();
    }
    let (https, plain, peer) = (free_port(), free_port(), free_port());
    let c = |f: &str| certs.join(f).display().to_string();
    let _etcd = Procs(vec![spawn(
        &testbed::binaries_dir().join("etcd"),
        &[
            "--name=ext".to_string(),
            format!("--data-dir={}", work.path().join("ext-data").display()),
            format!("--listen-client-urls=https://127.0.0.1:{https},http://127.0.0.1:{plain}"),
            format!("--advertise-client-urls=https://127.0.0.1:{https}"),
            format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-cluster=ext=http://127.0.0.1:{peer}"),
            format!("--cert-file={}", c("etcd-server.crt")),
            format!("--key-file={}", c("etcd-server.key")),
            format!("--trusted-ca-file={}", c("etcd-ca.crt")),
            "--client-cert-auth=true".into(),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ],
        &work.path().join("ext-etcd.log"),
    )]);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", plain)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let port = free_node_port();
    let (kubelet_task, stop) = kubelet(host.clone(), ns, work.path().join("kubelet"), port);
    let server = format!("https://127.0.0.1:{https}");
    let (ok, out, err) = stubs
        .run(&[
            "init",
            "-n",
            ns,
            "--port",
            &port.to_string(),
            "--wait-component-ready-timeout",
            "120",
            "--external-etcd-servers",
            &server,
            "--external-etcd-ca-cert-path",
            &c("etcd-ca.crt"),
            "--external-etcd-client-cert-path",
            &c("etcd-client.crt"),
            "--external-etcd-client-key-path",
            &c("etcd-client.key"),
            "--external-etcd-key-prefix",
            "/karmada-ext",
            "--karmada-data",
            &work.path().join("data").display().to_string(),
        ])
        .await;
    stop.store(true, Ordering::Relaxed);
    drop(kubelet_task.await.unwrap());
    assert!(ok, "init failed:\nstdout: {out}\nstderr: {err}");
    assert!(
        !err.contains("waiting for etcd"),
        "no etcd of ours to wait for: {err}"
    );

    // No etcd installed; the apiserver is pointed at the external one with its certificates.
    let sets = Api::<StatefulSet>::namespaced(host.clone(), ns);
    assert!(sets.get_opt(manifests::ETCD).await.unwrap().is_none());
    let services = Api::<Service>::namespaced(host.clone(), ns);
    assert!(
        services
            .get_opt(manifests::ETCD_CLIENT_SERVICE)
            .await
            .unwrap()
            .is_none()
    );
    let secret = Api::<Secret>::namespaced(host.clone(), ns)
        .get(manifests::EXTERNAL_ETCD_SECRET)
        .await
        .unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data["ca.crt"].0, ext.get("etcd-ca.crt").as_bytes());
    let deployment = Api::<Deployment>::namespaced(host.clone(), ns)
        .get(manifests::APISERVER)
        .await
        .unwrap();
    let command = deployment.spec.template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap();
    for want in [
        format!("--etcd-servers={server}"),
        "--etcd-prefix=/karmada-ext".into(),
        format!("--etcd-cafile={}/ca.crt", manifests::EXTERNAL_ETCD_DIR),
        format!(
            "--etcd-certfile={}/client.crt",
            manifests::EXTERNAL_ETCD_DIR
        ),
    ] {
        assert!(command.contains(&want), "{want} missing: {command:?}");
    }
    // The control plane's data (CRDs, RBAC) is in the external etcd, under the prefix.
    let keys = etcd_keys_under(plain, "/karmada-ext/");
    assert!(keys > 10, "{keys} keys under /karmada-ext/");
    assert_eq!(
        etcd_keys_under(plain, "/registry/"),
        0,
        "nothing outside the prefix"
    );

    // Nothing went to karmada-system; the in-cluster kubeconfigs name the Service in `ns`.
    let default_ns = Api::<Deployment>::namespaced(host.clone(), NAMESPACE);
    assert!(
        default_ns
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let kubeconfig = Api::<Secret>::namespaced(host.clone(), ns)
        .get(manifests::RECONCILER_KUBECONFIG_SECRET)
        .await
        .unwrap();
    let kubeconfig = String::from_utf8(
        kubeconfig.data.unwrap()[manifests::KUBECONFIG_KEY]
            .0
            .clone(),
    )
    .unwrap();
    assert!(
        kubeconfig.contains(&format!(
            "https://karmada-apiserver.{ns}.svc.cluster.local:5443"
        )),
        "{kubeconfig}"
    );
    let certs = Api::<Secret>::namespaced(host.clone(), ns)
        .get(manifests::CERT_SECRET)
        .await
        .unwrap();
    let sans = &certs.metadata.annotations.unwrap()[manifests::SANS_ANNOTATION];
    assert!(
        sans.contains(&format!("karmada-apiserver.{ns}.svc")),
        "{sans}"
    );

    // deinit -n removes it from that namespace (and the namespace init created).
    let (ok, out, err) = stubs.run(&["deinit", "-n", ns, "-f"]).await;
    assert!(ok, "deinit failed:\nstdout: {out}\nstderr: {err}");
    assert!(
        err.contains(&format!("Deployment/{ns}/karmada-apiserver")),
        "{err}"
    );
    assert!(err.contains(&format!("Namespace/{ns}")), "{err}");
    assert!(
        Api::<Deployment>::namespaced(host.clone(), ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn init_dry_run_prints_everything_redacted_and_touches_nothing() {
    let stubs = Stubs::new(false, false);
    let (ok, out, err) = stubs
        .run(&[
            "init",
            "--dry-run",
            "-o",
            "yaml",
            "--etcd-replicas",
            "3",
            "--etcd-storage-mode",
            "pvc",
            "--karmada-apiserver-extra-args=v=4",
        ])
        .await;
    assert!(ok, "{err}");
    assert!(stubs.calls().is_empty(), "no docker or kind call");
    assert!(!out.contains("BEGIN"), "no PEM in the output");
    assert!(
        out.contains("# Data left empty here: the control plane's certificates and keys"),
        "{out}"
    );
    assert!(out.contains(&format!(
        "registry.k8s.io/kube-apiserver:{}",
        testbed::kube_version()
    )));
    assert!(out.contains("- --v=4"));
    assert!(out.contains("volumeClaimTemplates"));
    assert!(out.contains("etcd-2=https://etcd-2.etcd.karmada-system.svc.cluster.local:2380"));
    assert!(
        out.contains(
            "--controllers=namespace,garbagecollector,serviceaccount-token,serviceaccount"
        )
    );
    assert!(!stubs.karmada_config().exists());
}

/// The documents of a multi-document YAML stream.
fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize as _;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_dry_run_yaml_is_accepted_by_a_real_apiserver() {
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("test bed");
    let host = bed.client(CONTROL_PLANE).await.unwrap();
    let stubs = Stubs::new(false, false);
    for extra in [
        &[][..],
        &[
            "--etcd-replicas",
            "3",
            "--etcd-storage-mode",
            "pvc",
            "--storage-classes-name",
            "standard",
        ][..],
    ] {
        let mut args = vec!["init", "--dry-run", "-o", "yaml"];
        args.extend_from_slice(extra);
        let (ok, out, err) = stubs.run(&args).await;
        assert!(ok, "{err}");
        assert!(!out.contains("BEGIN"), "no PEM in the output");
        let objects = yaml_documents(&out);
        let secrets: Vec<&serde_json::Value> =
            objects.iter().filter(|o| o["kind"] == "Secret").collect();
        assert_eq!(secrets.len(), 3, "{out}");
        for s in &secrets {
            let data = s["data"].as_object().unwrap();
            assert!(!data.is_empty(), "the keys are listed: {s}");
            assert!(data.values().all(|v| v == ""), "no values: {s}");
        }
        // What `kubectl apply --server-side --dry-run=server -f` does with the printed file: the
        // namespace for real (dry-run objects need it), everything else dry-run.
        karmadactl::ops::init::apply(&host, &objects[..1])
            .await
            .unwrap();
        let dry = PatchParams::apply("karmadactl").force().dry_run();
        karmadactl::ops::init::apply_with(&host, &objects, &dry)
            .await
            .unwrap_or_else(|e| panic!("{extra:?}: the printed YAML is rejected: {e}"));
    }
    assert!(stubs.calls().is_empty(), "no docker or kind call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deinit_purge_namespace_deletes_a_namespace_init_did_not_create() {
    use k8s_openapi::api::core::v1::Namespace;
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("test bed");
    let host = bed.client(CONTROL_PLANE).await.unwrap();
    let namespaces = Api::<Namespace>::all(host.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap(),
        )
        .await
        .unwrap();
    let stubs = Stubs::new(false, false);
    let kc = bed.kubeconfig().display().to_string();
    let deinit = |extra: &'static [&'static str]| {
        let mut args = vec![
            "deinit",
            "--kubeconfig",
            &kc,
            "--context",
            CONTROL_PLANE,
            "-f",
        ];
        args.extend_from_slice(extra);
        args
    };
    let (ok, _, err) = stubs.run(&deinit(&[])).await;
    assert!(ok, "{err}");
    let ns = namespaces.get(NAMESPACE).await.unwrap();
    assert!(ns.metadata.deletion_timestamp.is_none(), "not init's: kept");
    let (ok, out, err) = stubs
        .run(&deinit(&["--purge-namespace", "--dry-run"]))
        .await;
    assert!(ok && out.contains("Namespace/karmada-system"), "{out}{err}");
    assert!(
        namespaces
            .get(NAMESPACE)
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );
    let (ok, _, err) = stubs.run(&deinit(&["--purge-namespace"])).await;
    assert!(ok, "{err}");
    let gone = namespaces
        .get_opt(NAMESPACE)
        .await
        .unwrap()
        .is_none_or(|n| n.metadata.deletion_timestamp.is_some());
    assert!(gone, "--purge-namespace deletes it");
}

#[tokio::test]
async fn init_config_file_in_upstreams_format() {
    let stubs = Stubs::new(false, false);
    let file = stubs.home.path().join("init.yaml");
    std::fs::write(
        &file,
        r#"apiVersion: config.karmada.io/v1alpha1
kind: KarmadaInitConfig
spec:
  certificates:
    externalDNS: [karmada.example.com]
    validityPeriod: 8760h0m0s
  etcd:
    local:
      repository: reg.example.com/etcd
      tag: 3.6.0-0
      replicas: 3
      storageMode: PVC
      pvcSize: 7Gi
      nodeSelectorLabels: {karmada.io/etcd: "true"}
      extraArgs:
      - {name: snapshot-count, value: "5000"}
  images:
    imagePullPolicy: Always
    imagePullSecrets: [regcred]
    kubeImageTag: v1.36.1
    privateRegistry: {registry: reg.example.com}
  components:
    karmadaAPIServer:
      replicas: 2
      networking: {port: 31443}
      extraArgs:
      - {name: v, value: "4"}
    kubeControllerManager:
      replicas: 2
    karmadaScheduler:
      replicas: 1
  karmadaCRDs: https://github.com/karmada-io/karmada/releases/download/v1.14.0/crds.tar.gz
"#,
    )
    .unwrap();
    let path = file.display().to_string();
    // The file wins over the flags, as upstream.
    let (ok, out, err) = stubs
        .run(&[
            "init",
            "--config",
            &path,
            "--etcd-replicas",
            "1",
            "--dry-run",
            "-o",
            "yaml",
        ])
        .await;
    assert!(ok, "{err}");
    let objects = yaml_documents(&out);
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
            .clone()
    };
    let etcd = find("StatefulSet", manifests::ETCD);
    assert_eq!(etcd["spec"]["replicas"], 3);
    let pod = &etcd["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "reg.example.com/etcd:3.6.0-0"
    );
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(pod["nodeSelector"]["karmada.io/etcd"], "true");
    assert_eq!(pod["imagePullSecrets"][0]["name"], "regcred");
    assert!(
        pod["containers"][0]["command"]
            .as_array()
            .unwrap()
            .contains(&json!("--snapshot-count=5000"))
    );
    assert_eq!(
        etcd["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "7Gi"
    );
    let apiserver = find("Deployment", manifests::APISERVER);
    assert_eq!(apiserver["spec"]["replicas"], 2);
    let c = &apiserver["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "reg.example.com/kube-apiserver:v1.36.1");
    assert!(c["command"].as_array().unwrap().contains(&json!("--v=4")));
    assert_eq!(find("Deployment", manifests::KCM)["spec"]["replicas"], 2);
    assert_eq!(
        find("Deployment", manifests::RECONCILER)["spec"]["template"]["spec"]["containers"][0]["image"],
        format!(
            "reg.example.com/karmada-reconciler:v{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        find("Service", manifests::APISERVER)["spec"]["ports"][0]["nodePort"],
        31443
    );
    let certs = find("Secret", manifests::CERT_SECRET);
    assert!(
        certs["metadata"]["annotations"][manifests::SANS_ANNOTATION]
            .as_str()
            .unwrap()
            .contains("karmada.example.com")
    );
    assert!(
        err.contains("ignoring spec.components.karmadaScheduler"),
        "{err}"
    );
    assert!(err.contains("ignoring --crds"), "{err}");

    std::fs::write(&file, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let out = stubs
        .command()
        .args(["init", "--config", &path, "--dry-run"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KarmadaInitConfig"));
}

#[tokio::test]
async fn init_errors_are_clear() {
    let no_docker = Stubs::new(false, true);
    let (ok, _, err) = no_docker.run(&["init"]).await;
    assert!(!ok);
    assert!(
        err.contains("docker not found") && err.contains("install Docker"),
        "{err}"
    );

    let no_kind = Stubs::new(true, false);
    let (ok, _, err) = no_kind.run(&["init"]).await;
    assert!(!ok);
    assert!(
        err.contains("kind not found") && err.contains("install kind"),
        "{err}"
    );

    let down = Stubs::new(true, true);
    std::fs::write(down.dir.path().join("docker-down"), "").unwrap();
    let (ok, _, err) = down.run(&["init"]).await;
    assert!(!ok);
    assert!(
        err.contains("the Docker daemon does not answer: start it"),
        "{err}"
    );
    assert!(err.contains("Is the docker daemon running?"), "{err}");

    let taken = Stubs::new(true, true);
    let port = free_node_port();
    let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (ok, _, err) = taken.run(&["init", "--port", &port.to_string()]).await;
    assert!(!ok);
    assert!(
        err.contains(&format!("port {port} on 127.0.0.1 is not available"))
            && err.contains("--port"),
        "{err}"
    );
    assert!(!taken.calls().contains("create cluster"), "nothing created");

    let (ok, _, err) = taken
        .run(&["init", "--kubeconfig", "/nonexistent/kc"])
        .await;
    assert!(!ok);
    assert!(err.contains("--reconciler-image is required"), "{err}");

    let (ok, _, err) = taken.run(&["init", "--etcd-replicas", "2"]).await;
    assert!(!ok);
    assert!(err.contains("--etcd-replicas must be odd"), "{err}");

    let (ok, _, err) = taken.run(&["init", "-n", "Karmada_System"]).await;
    assert!(!ok);
    assert!(
        err.contains("\"Karmada_System\" is not a namespace name"),
        "{err}"
    );
    assert!(!taken.calls().contains("create cluster"), "nothing created");

    // Absurd validity periods are refused with a reason, not an overflow.
    for period in ["99999999999999999999h", "1e400", "876001h"] {
        let (ok, _, err) = taken
            .run(&["init", "--dry-run", "--cert-validity-period", period])
            .await;
        assert!(!ok, "{period}");
        assert!(err.contains("--cert-validity-period"), "{period}: {err}");
        assert!(
            err.contains("too long") || err.contains("invalid duration"),
            "{period}: {err}"
        );
    }
    // 100 years is accepted (the leaves then end with their 10-year CA).
    let (ok, _, err) = taken
        .run(&["init", "--dry-run", "--cert-validity-period", "876000h"])
        .await;
    assert!(ok, "{err}");
}

#[tokio::test]
async fn rendered_variants_are_accepted_by_a_real_apiserver() {
    use karmadactl::install::manifests::{EtcdStorage, InitConfig, Pki, PkiRequest};
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("test bed");
    let host = bed.client(CONTROL_PLANE).await.unwrap();
    let pki = Pki::complete(
        None,
        &PkiRequest {
            extra_sans: vec!["192.0.2.10".into(), "karmada.example.com".into()],
            validity: Duration::from_secs(3600),
            ca: None,
            etcd_replicas: 3,
            namespace: NAMESPACE.into(),
        },
    )
    .unwrap();
    let mut pvc = InitConfig::new(testbed::kube_version(), "example.com/karmada-reconciler:v1");
    pvc.etcd_replicas = 3;
    pvc.apiserver_replicas = 2;
    pvc.reconciler_replicas = 2;
    pvc.etcd_storage = EtcdStorage::Pvc {
        size: "10Gi".into(),
        storage_class: Some("standard".into()),
    };
    pvc.apiserver_extra_args = vec!["v=4".into(), "--authorization-mode=Node,RBAC".into()];
    pvc.etcd_extra_args = vec!["quota-backend-bytes=8589934592".into()];
    pvc.kcm_extra_args = vec!["v=2".into()];
    pvc.reconciler_extra_args = vec!["concurrency=4".into()];
    let mut empty = InitConfig::new(testbed::kube_version(), "karmada-reconciler:dev");
    empty.etcd_storage = EtcdStorage::EmptyDir;
    empty.image_pull_policy = "Never".into();

    let host_objects = manifests::host_objects(&pvc, &pki).unwrap();
    // The namespace for real (dry-run objects need it to exist), everything else dry-run.
    karmadactl::ops::init::apply(&host, &host_objects[..1])
        .await
        .unwrap();
    let dry = PatchParams::apply("karmadactl").force().dry_run();
    for cfg in [&pvc, &empty] {
        cfg.validate().unwrap();
        let objects = manifests::host_objects(cfg, &pki).unwrap();
        karmadactl::ops::init::apply_with(&host, &objects, &dry)
            .await
            .unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
    }
    karmadactl::ops::init::apply_with(&host, &manifests::control_plane_objects(), &dry)
        .await
        .unwrap();
}
