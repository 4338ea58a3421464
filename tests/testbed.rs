//! The test bed itself: independent clusters, TLS verification, kubeconfigs, stopping and
//! restarting a cluster, and process hygiene. Needs `hack/build-test-binaries.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{ObjectMeta, PostParams};
use kube::config::Kubeconfig;
use kube::{Api, Client};

use karmadactl::client::connect::client_for;
use karmadactl::install::pki::CertificateAuthority;
use karmadactl::kubeconfig;
use karmadactl::testbed::{self, BedSpec, CONTROL_PLANE, TestBed};

fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The error and all its sources, so assertions see e.g. the TLS cause under a kube error.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

async fn create_namespace(client: &Client, name: &str) -> Namespace {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap()
}

async fn create_config_map(client: &Client, ns: &str, name: &str, value: &str) -> ConfigMap {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("key".to_string(), value.to_string())])),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap()
}

/// Whether `pid` is a live process (a zombie counts as dead).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_are_independent() {
    let bed = testbed::shared();
    let ns = unique("independent");
    let member1 = bed.client("member1").await.unwrap();
    create_namespace(&member1, &ns).await;
    create_config_map(&member1, &ns, "marker", "member1").await;

    let seen = Api::<ConfigMap>::namespaced(member1, &ns)
        .get("marker")
        .await
        .unwrap();
    assert_eq!(seen.data.unwrap()["key"], "member1");

    for other in [CONTROL_PLANE, "member2"] {
        let client = bed.client(other).await.unwrap();
        let namespace = Api::<Namespace>::all(client.clone())
            .get_opt(&ns)
            .await
            .unwrap();
        assert!(namespace.is_none(), "namespace {ns} leaked into {other}");
        let cm = Api::<ConfigMap>::namespaced(client, &ns)
            .get_opt("marker")
            .await
            .unwrap();
        assert!(cm.is_none(), "config map leaked into {other}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_verified_and_never_skipped() {
    let bed = testbed::shared();
    let member1 = bed.cluster("member1");
    let dir = tempfile::tempdir().unwrap();

    // The same entry with a foreign CA must fail on the certificate, not on anything else.
    let impostor = CertificateAuthority::generate("impostor", Duration::from_secs(3600)).unwrap();
    let mut wrong_ca = member1.entry();
    wrong_ca.ca_pem = impostor.cert_pem().to_string();
    let wrong_path = dir.path().join("wrong-ca");
    kubeconfig::write(&wrong_path, &wrong_ca.to_kubeconfig()).unwrap();
    let client = client_for(&wrong_path, Some("member1")).await.unwrap();
    let err = Api::<Namespace>::all(client)
        .get("default")
        .await
        .unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("invalid peer certificate"),
        "expected the server certificate to be rejected, got: {text}"
    );

    // The right CA works, also by DNS name: the serving cert carries both SANs.
    let mut by_name = member1.entry();
    by_name.server = format!("https://localhost:{}", member1.port);
    let right_path = dir.path().join("by-name");
    kubeconfig::write(&right_path, &by_name.to_kubeconfig()).unwrap();
    let client = client_for(&right_path, Some("member1")).await.unwrap();
    Api::<Namespace>::all(client).get("default").await.unwrap();

    let mut files = vec![bed.kubeconfig().to_path_buf()];
    files.extend(bed.clusters().map(|c| c.kubeconfig.clone()));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("insecure-skip-tls-verify"),
            "{} skips TLS verification",
            file.display()
        );
        let kc = Kubeconfig::read_from(&file).unwrap();
        for cluster in &kc.clusters {
            let c = cluster.cluster.as_ref().unwrap();
            assert_ne!(c.insecure_skip_tls_verify, Some(true));
            assert!(c.certificate_authority_data.is_some(), "{}", file.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn combined_kubeconfig_has_a_working_admin_context_per_cluster() {
    let bed = testbed::shared();
    let kc = Kubeconfig::read_from(bed.kubeconfig()).unwrap();
    let mut contexts: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    contexts.sort();
    assert_eq!(contexts, [CONTROL_PLANE, "member1", "member2"]);
    assert_eq!(kc.current_context.as_deref(), Some(CONTROL_PLANE));

    let mut default_ns_uids = Vec::new();
    for name in [CONTROL_PLANE, "member1", "member2"] {
        let cluster = kc.clusters.iter().find(|c| c.name == name).unwrap();
        let server = cluster.cluster.as_ref().unwrap().server.clone();
        assert_eq!(server.as_deref(), Some(bed.cluster(name).server.as_str()));

        let client = client_for(bed.kubeconfig(), Some(name)).await.unwrap();
        // The admin identity comes from the client certificate: CN=admin, O=system:masters.
        let review = Api::<SelfSubjectReview>::all(client.clone())
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .unwrap();
        let user = review.status.unwrap().user_info.unwrap();
        assert_eq!(user.username.as_deref(), Some("admin"), "{name}");
        assert!(
            user.groups
                .unwrap_or_default()
                .contains(&"system:masters".to_string()),
            "{name}"
        );
        let default_ns = Api::<Namespace>::all(client).get("default").await.unwrap();
        default_ns_uids.push(default_ns.metadata.uid.unwrap());

        // The per-cluster kubeconfig reaches the same cluster through its own context.
        let single = Kubeconfig::read_from(&bed.cluster(name).kubeconfig).unwrap();
        assert_eq!(single.contexts.len(), 1);
        assert_eq!(single.current_context.as_deref(), Some(name));
    }
    // Three contexts, three separate clusters.
    default_ns_uids.sort();
    default_ns_uids.dedup();
    assert_eq!(default_ns_uids.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_issued_by_the_cluster_ca_is_subject_to_rbac() {
    let bed = testbed::shared();
    let entry = bed
        .cluster("member2")
        .user_entry(&unique("viewer"), &["testbed:viewers"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kubeconfig::write(&path, &entry.to_kubeconfig()).unwrap();
    let client = client_for(&path, Some(&entry.name)).await.unwrap();
    let err = Api::<Namespace>::all(client)
        .list(&Default::default())
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(status) => assert_eq!(status.code, 403),
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_cluster_is_unreachable_and_restarts_with_its_data() {
    let mut bed = TestBed::start(BedSpec {
        members: vec!["member1".into()],
        controller_manager: true,
        ..Default::default()
    })
    .await
    .unwrap();

    let member1 = bed.client("member1").await.unwrap();
    create_namespace(&member1, "kept").await;
    let before = create_config_map(&member1, "kept", "data", "survives restarts").await;

    // kube-controller-manager runs: its serviceaccount controller fills new namespaces.
    let control_plane = bed.client(CONTROL_PLANE).await.unwrap();
    create_namespace(&control_plane, "with-sa").await;
    let accounts = Api::<ServiceAccount>::namespaced(control_plane.clone(), "with-sa");
    let deadline = Instant::now() + Duration::from_secs(60);
    while accounts.get_opt("default").await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "no default service account; see {:?}",
            bed.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    bed.stop_cluster("member1").await.unwrap();
    let stopped = bed.client("member1").await.unwrap();
    let err = Api::<Namespace>::all(stopped)
        .get("kept")
        .await
        .unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a stopped cluster answered: {err:?}"
    );
    Api::<Namespace>::all(control_plane)
        .get("with-sa")
        .await
        .unwrap();

    bed.start_cluster("member1").await.unwrap();
    let restarted = bed.client("member1").await.unwrap();
    let after = Api::<ConfigMap>::namespaced(restarted, "kept")
        .get("data")
        .await
        .unwrap();
    assert_eq!(after.metadata.uid, before.metadata.uid);
    assert_eq!(after.data, before.data);

    // Drop kills every process and removes the state directory.
    let pids = bed.pids();
    assert_eq!(pids.len(), 4, "{pids:?}");
    let dir: PathBuf = bed.dir().to_path_buf();
    assert!(pids.iter().all(|(_, pid)| alive(*pid)), "{pids:?}");
    drop(bed);
    let survivors: Vec<_> = pids.iter().filter(|(_, pid)| alive(*pid)).collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
    if std::env::var(testbed::KEEP_ENV).is_err() {
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }
}

const HELPER_ENV: &str = "KARMADACTL_TESTBED_HELPER_OUT";

/// Run as a child process by `children_die_with_the_test_process`: starts a bed, reports its
/// pids and directory, then waits to be killed.
#[test]
#[ignore = "helper process for children_die_with_the_test_process"]
fn helper_start_bed_and_wait() {
    let Some(out) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bed = runtime.block_on(TestBed::start(BedSpec::new(&[]))).unwrap();
    let mut report = format!("{}\n", bed.dir().display());
    for (_, pid) in bed.pids() {
        report.push_str(&format!("{pid}\n"));
    }
    let tmp = PathBuf::from(format!("{}.tmp", out.to_string_lossy()));
    std::fs::write(&tmp, report).unwrap();
    std::fs::rename(&tmp, &out).unwrap();
    loop {
        std::thread::park();
    }
}

#[test]
fn children_die_with_the_test_process() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("report");
    let log = std::fs::File::create(scratch.path().join("helper.log")).unwrap();
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "helper_start_bed_and_wait",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, &out)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let helper_log = || std::fs::read_to_string(scratch.path().join("helper.log")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(180);
    while !out.exists() {
        if let Some(status) = helper.try_wait().unwrap() {
            panic!(
                "helper exited ({status}) before its bed was up:\n{}",
                helper_log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "helper's bed never came up:\n{}",
            helper_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = std::fs::read_to_string(&out).unwrap();
    let mut lines = report.lines();
    let dir = PathBuf::from(lines.next().unwrap());
    let pids: Vec<u32> = lines.map(|l| l.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2, "etcd and kube-apiserver: {report}");
    assert!(pids.iter().all(|pid| alive(*pid)));

    // SIGKILL: no destructor runs; only the parent-death signal can stop the children.
    helper.kill().unwrap();
    helper.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|pid| alive(*pid)) {
        assert!(
            Instant::now() < deadline,
            "children outlived the killed test process: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(dir);
}
