//! Never harm a member: an object the reconciler did not create survives every deletion path,
//! an object another Work manages is a conflict (neither overwritten nor deleted), and deleting
//! never blocks forever on a member that cannot be reached. Real kube-apiservers, a real
//! reconciler process; the tests run one at a time.

mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt as _};
use serde_json::json;

use karmadactl::api::{self as keys, Cluster, ResourceBinding, Work, names};
use karmadactl::testbed::CONTROL_PLANE;
use support::{Federation, apply_yaml, eventually};

const T: Duration = Duration::from_secs(90);

/// `--cluster-deletion-grace-period` of the reconciler in these tests.
const GRACE: Duration = Duration::from_secs(10);
const RECONCILER_FLAGS: &[&str] = &["--cluster-deletion-grace-period", "10s"];

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn log(fed: &Federation) -> std::path::PathBuf {
    fed.bed.dir().join("reconciler.log")
}

async fn create_namespace(cp: &Client, ns: &str) {
    apply_yaml(
        cp,
        &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"),
    )
    .await;
}

/// Whether namespace `ns` is there and not being deleted.
async fn namespace_live(client: &Client, ns: &str) -> bool {
    Api::<Namespace>::all(client.clone())
        .get_opt(ns)
        .await
        .unwrap()
        .is_some_and(|n| n.metadata.deletion_timestamp.is_none())
}

/// Waits until Work `name` in `karmada-es-<cluster>` has Applied with `status`; returns the
/// Work.
async fn applied(
    cp: &Client,
    cluster: &str,
    name: &str,
    status: &str,
    log: &std::path::Path,
) -> Work {
    let works: Api<Work> = Api::namespaced(cp.clone(), &names::execution_namespace(cluster));
    let what = format!("Work {name} in cluster {cluster}: Applied={status}");
    eventually(&what, T, log, || async {
        let w = works.get_opt(name).await.ok()??;
        let ok = w.metadata.deletion_timestamp.is_none()
            && w.status
                .as_ref()?
                .conditions
                .iter()
                .any(|c| c.type_ == "Applied" && c.status == status);
        ok.then_some(w)
    })
    .await
}

async fn work_gone(cp: &Client, cluster: &str, name: &str, log: &std::path::Path) {
    let works: Api<Work> = Api::namespaced(cp.clone(), &names::execution_namespace(cluster));
    let what = format!("Work {name} in cluster {cluster} gone");
    eventually(&what, T, log, || async {
        works.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

/// Events (any namespace) with `reason` whose message contains every one of `words`.
async fn events(cp: &Client, reason: &str, words: &[&str]) -> Vec<String> {
    Api::<Event>::all(cp.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.message)
        .filter(|m| words.iter().all(|w| m.contains(w)))
        .collect()
}

/// member1's own namespace `shop` and its ConfigMap are there, untouched; once released, the
/// namespace carries none of the reconciler's marks.
async fn shop_survives(m1: &Client, after: &str, released: bool) {
    let ns = Api::<Namespace>::all(m1.clone())
        .get_opt("shop")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("member1's own namespace shop was deleted after {after}"));
    assert!(
        ns.metadata.deletion_timestamp.is_none(),
        "member1's own namespace shop is being deleted after {after}"
    );
    assert_eq!(
        ns.labels().get("team").map(String::as_str),
        Some("theirs"),
        "after {after}"
    );
    let cm = Api::<ConfigMap>::namespaced(m1.clone(), "shop")
        .get_opt("keep")
        .await
        .unwrap()
        .unwrap_or_else(|| {
            panic!("the ConfigMap in member1's namespace shop is gone after {after}")
        });
    assert_eq!(cm.data.unwrap()["owner"], "theirs", "after {after}");
    if released {
        assert!(
            !ns.labels().contains_key(keys::LABEL_MANAGED)
                && !ns.annotations().contains_key(keys::ANNOTATION_WORK_NAME),
            "after {after}, shop still carries the reconciler's marks: {:?} {:?}",
            ns.labels(),
            ns.annotations()
        );
    }
}

/// Item 1: a namespace that existed in the member before the control plane had one of that
/// name is adopted, never deleted: not when the control plane's namespace goes, not when its
/// Work is deleted by hand (it is recreated), not on unjoin, not when the Cluster is deleted.
/// A namespace the reconciler created is still removed with the control plane's.
#[tokio::test(flavor = "multi_thread")]
async fn a_pre_existing_namespace_survives_every_deletion_path() {
    let _serial = SERIAL.lock().await;
    let bed = support::bed_with_crds(&["member1"]).await;
    let m1 = bed.client("member1").await.unwrap();
    // Before the join: member1 already has namespace shop with someone's ConfigMap in it.
    apply_yaml(
        &m1,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: theirs}}\n",
    )
    .await;
    apply_yaml(
        &m1,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: shop}\ndata: {owner: theirs}\n",
    )
    .await;
    let reconciler = support::start_reconciler_with(&bed, RECONCILER_FLAGS);
    let fed = Federation { bed, reconciler };
    support::join(&fed.bed, "member1").await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let log = log(&fed);
    let namespaces: Api<Namespace> = Api::all(cp.clone());
    let shop_work = names::work_name("Namespace", "shop", "");

    // A namespace the reconciler creates in member1 goes with the control plane's.
    create_namespace(&cp, "fresh").await;
    eventually("namespace fresh in member1", T, &log, || async {
        namespace_live(&m1, "fresh").await.then_some(())
    })
    .await;
    namespaces
        .delete("fresh", &DeleteParams::default())
        .await
        .unwrap();
    eventually("namespace fresh removed from member1", T, &log, || async {
        (!namespace_live(&m1, "fresh").await).then_some(())
    })
    .await;

    // 1. shop on the control plane: synced onto member1's own shop, then deleted again.
    create_namespace(&cp, "shop").await;
    applied(&cp, "member1", &shop_work, "True", &log).await;
    namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    work_gone(&cp, "member1", &shop_work, &log).await;
    shop_survives(&m1, "deleting shop on the control plane", true).await;
    eventually(
        "namespace shop gone from the control plane",
        T,
        &log,
        || async {
            namespaces
                .get_opt("shop")
                .await
                .ok()?
                .is_none()
                .then_some(())
        },
    )
    .await;

    // 2. Its Work deleted by hand: recreated, and the member namespace stays.
    create_namespace(&cp, "shop").await;
    let first = applied(&cp, "member1", &shop_work, "True", &log).await;
    let works: Api<Work> = Api::namespaced(cp.clone(), "karmada-es-member1");
    works
        .delete(&shop_work, &DeleteParams::default())
        .await
        .unwrap();
    let what = "shop's Work recreated after it was deleted by hand";
    eventually(what, T, &log, || async {
        let w = works.get_opt(&shop_work).await.ok()??;
        (w.uid() != first.uid()).then_some(())
    })
    .await;
    applied(&cp, "member1", &shop_work, "True", &log).await;
    shop_survives(&m1, "deleting its Work by hand", false).await;

    // 3. unjoin.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(fed.bed.kubeconfig())
        .args(["--karmada-context", CONTROL_PLANE])
        .args(["unjoin", "member1", "--yes", "--wait"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unjoin: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    shop_survives(&m1, "unjoin", true).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cp.clone(), keys::NAMESPACE_KARMADA_CLUSTER);
    eventually("member1's Secrets collected", T, &log, || async {
        secrets
            .get_opt("member1")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // 4. Joined again, then the Cluster deleted.
    support::join(&fed.bed, "member1").await;
    applied(&cp, "member1", &shop_work, "True", &log).await;
    let clusters: Api<Cluster> = Api::all(cp.clone());
    clusters
        .delete("member1", &DeleteParams::default())
        .await
        .unwrap();
    eventually("Cluster member1 gone", T, &log, || async {
        clusters
            .get_opt("member1")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    shop_survives(&m1, "deleting the Cluster", true).await;
}

const SHARED: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: default}
data: {k: v}
"#;

fn shared_policy(clusters: &str, overwrite: bool) -> String {
    let resolution = if overwrite {
        "\n  conflictResolution: Overwrite"
    } else {
        ""
    };
    format!(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: shared, namespace: default}}
spec:{resolution}
  resourceSelectors: [{{apiVersion: v1, kind: ConfigMap, name: shared}}]
  placement: {{clusterAffinity: {{clusterNames: [{clusters}]}}}}
"#
    )
}

/// A second Cluster entry `twin` for member1: its endpoint and credentials under another name,
/// what a second control plane (or a second join of the same kubeconfig) amounts to.
async fn create_twin(cp: &Client, log: &std::path::Path) {
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let member1 = clusters.get("member1").await.unwrap();
    let twin: Cluster = serde_json::from_value(json!({
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": "twin"},
        "spec": {"syncMode": "Push", "apiEndpoint": member1.spec.api_endpoint,
            "secretRef": member1.spec.secret_ref,
            "insecureSkipTLSVerification": member1.spec.insecure_skip_tls_verification},
    }))
    .unwrap();
    clusters
        .create(&PostParams::default(), &twin)
        .await
        .unwrap();
    eventually("Cluster twin Ready", T, log, || async {
        let c = clusters.get("twin").await.ok()?;
        c.status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
            .then_some(())
    })
    .await;
}

/// The work annotations of member1's ConfigMap default/shared (None: not there).
async fn shared_owner(m1: &Client) -> Option<(String, bool)> {
    let cm = Api::<ConfigMap>::namespaced(m1.clone(), "default")
        .get_opt("shared")
        .await
        .unwrap()?;
    if cm.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let managed = cm.labels().get(keys::LABEL_MANAGED).map(String::as_str) == Some("true");
    Some((
        cm.annotations()
            .get(keys::ANNOTATION_WORK_NAMESPACE)
            .cloned()
            .unwrap_or_default(),
        managed,
    ))
}

/// Item 2: an object another Work manages (labelled `karmada.io/managed=true`, its work
/// annotations naming another Work) is a Conflict, neither overwritten nor deleted; with
/// conflictResolution Overwrite it is taken over, and still not deleted by the taker.
#[tokio::test(flavor = "multi_thread")]
async fn an_object_another_work_manages_is_a_conflict_and_never_deleted() {
    let _serial = SERIAL.lock().await;
    let fed = support::federation(&["member1"]).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let log = log(&fed);
    let work = names::work_name("ConfigMap", "shared", "default");
    create_twin(&cp, &log).await;

    apply_yaml(&cp, SHARED).await;
    apply_yaml(&cp, &shared_policy("member1", false)).await;
    applied(&cp, "member1", &work, "True", &log).await;
    let owner = (String::from("karmada-es-member1"), true);
    assert_eq!(shared_owner(&m1).await, Some(owner.clone()));

    // The same template for twin: member1's copy is another Work's, a Conflict.
    apply_yaml(&cp, &shared_policy("member1, twin", false)).await;
    let w = applied(&cp, "twin", &work, "False", &log).await;
    let message = w
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Applied")
        .unwrap()
        .message;
    assert!(
        message.contains("karmada-es-member1") && message.contains("conflictResolution: Overwrite"),
        "the conflict names the other Work and the fix: {message}"
    );
    let what = "a Conflict Event for twin";
    eventually(what, T, &log, || async {
        (!events(&cp, "Conflict", &["twin", "karmada-es-member1"])
            .await
            .is_empty())
        .then_some(())
    })
    .await;
    assert_eq!(
        shared_owner(&m1).await,
        Some(owner.clone()),
        "twin must not overwrite it"
    );

    // twin's Work deleted (placement back to member1 only): member1's object stays.
    apply_yaml(&cp, &shared_policy("member1", false)).await;
    work_gone(&cp, "twin", &work, &log).await;
    assert_eq!(
        shared_owner(&m1).await,
        Some(owner.clone()),
        "deleting twin's Work must not delete member1's object"
    );

    // The conflict again, then the twin Cluster deleted: member1's object stays.
    apply_yaml(&cp, &shared_policy("member1, twin", false)).await;
    applied(&cp, "twin", &work, "False", &log).await;
    let clusters: Api<Cluster> = Api::all(cp.clone());
    clusters
        .delete("twin", &DeleteParams::default())
        .await
        .unwrap();
    eventually("Cluster twin gone", T, &log, || async {
        clusters.get_opt("twin").await.ok()?.is_none().then_some(())
    })
    .await;
    assert_eq!(
        shared_owner(&m1).await,
        Some(owner.clone()),
        "deleting the twin Cluster must not delete member1's object"
    );

    // Overwrite: twin takes it over (member1's Work settled first), and when twin's Work goes
    // the object stays, released.
    create_twin(&cp, &log).await;
    apply_yaml(&cp, &shared_policy("member1", true)).await;
    let what = "member1's Work carries conflictResolution overwrite";
    eventually(what, T, &log, || async {
        let w = Api::<Work>::namespaced(cp.clone(), "karmada-es-member1")
            .get(&work)
            .await
            .ok()?;
        (w.annotations()
            .get(keys::ANNOTATION_CONFLICT_RESOLUTION)
            .map(String::as_str)
            == Some(keys::CONFLICT_RESOLUTION_OVERWRITE))
        .then_some(())
    })
    .await;
    apply_yaml(&cp, &shared_policy("member1, twin", true)).await;
    applied(&cp, "twin", &work, "True", &log).await;
    assert_eq!(
        shared_owner(&m1).await,
        Some(("karmada-es-twin".into(), true)),
        "with Overwrite twin takes it over"
    );
    apply_yaml(&cp, &shared_policy("member1", true)).await;
    work_gone(&cp, "twin", &work, &log).await;
    let left = shared_owner(&m1).await;
    assert!(
        left.as_ref().is_some_and(|(_, managed)| !managed),
        "twin took it over, so it leaves it (released, not deleted): {left:?}"
    );
}

/// Item 3: deletion never blocks on a member that cannot be reached. A template deleted while
/// its member is down: the Work's finalizer is retried, then released after the grace period
/// with an Event naming what was left, and the binding goes. A Cluster deleted right after its
/// apiserver stopped (still Ready): its Works and execution namespace go within the grace.
#[tokio::test(flavor = "multi_thread")]
async fn deletion_completes_when_the_member_is_down() {
    let _serial = SERIAL.lock().await;
    let bed = support::bed_with_crds(&["member1", "member2"]).await;
    let reconciler = support::start_reconciler_with(&bed, RECONCILER_FLAGS);
    let mut fed = Federation { bed, reconciler };
    futures::future::join(
        support::join(&fed.bed, "member1"),
        support::join(&fed.bed, "member2"),
    )
    .await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let log = log(&fed);
    create_namespace(&cp, "team").await;
    for (name, cluster) in [("old", "member1"), ("settings", "member2")] {
        apply_yaml(
            &cp,
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: team}}\ndata: {{k: v}}\n"
            ),
        )
        .await;
        apply_yaml(
            &cp,
            &format!(
                r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: {name}, namespace: team}}
spec:
  resourceSelectors: [{{apiVersion: v1, kind: ConfigMap, name: {name}}}]
  placement: {{clusterAffinity: {{clusterNames: [{cluster}]}}}}
"#
            ),
        )
        .await;
        let work = names::work_name("ConfigMap", name, "team");
        applied(&cp, cluster, &work, "True", &log).await;
    }

    // member1 down, its Cluster kept: the template deleted meanwhile.
    fed.bed.stop_cluster("member1").await.unwrap();
    let started = Instant::now();
    Api::<ConfigMap>::namespaced(cp.clone(), "team")
        .delete("old", &DeleteParams::default())
        .await
        .unwrap();
    let bindings: Api<ResourceBinding> = Api::namespaced(cp.clone(), "team");
    tokio::time::sleep(GRACE / 2).await;
    let works1: Api<Work> = Api::namespaced(cp.clone(), "karmada-es-member1");
    let old_work = names::work_name("ConfigMap", "old", "team");
    assert!(
        works1.get_opt(&old_work).await.unwrap().is_some(),
        "within the grace period the Work waits for its member"
    );
    eventually("binding old-configmap gone", T, &log, || async {
        bindings
            .get_opt("old-configmap")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= GRACE,
        "released before the grace period: {:?}",
        started.elapsed()
    );
    let left = events(&cp, "LeftInCluster", &["member1", "ConfigMap team/old"]).await;
    assert!(!left.is_empty(), "an Event names what was left in member1");

    // member2 stopped and its Cluster deleted at once (it still looks Ready).
    fed.bed.stop_cluster("member2").await.unwrap();
    let started = Instant::now();
    let clusters: Api<Cluster> = Api::all(cp.clone());
    clusters
        .delete("member2", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "Cluster member2 gone with its Works and execution namespace",
        T,
        &log,
        || async {
            let gone = clusters.get_opt("member2").await.ok()?.is_none();
            let ns = Api::<Namespace>::all(cp.clone())
                .get_opt("karmada-es-member2")
                .await
                .ok()?;
            (gone && ns.is_none()).then_some(())
        },
    )
    .await;
    assert!(
        started.elapsed() < GRACE + Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    let left = events(
        &cp,
        "LeftInCluster",
        &["member2", "ConfigMap team/settings"],
    )
    .await;
    assert!(!left.is_empty(), "an Event names what was left in member2");
    let left = events(&cp, "LeftInCluster", &["member2", "Namespace team"]).await;
    assert!(
        !left.is_empty(),
        "an Event names the namespace left in member2"
    );

    // The template's binding and the control-plane namespace can go too.
    Api::<Namespace>::all(cp.clone())
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "namespace team gone from the control plane",
        T,
        &log,
        || async {
            Api::<Namespace>::all(cp.clone())
                .get_opt("team")
                .await
                .ok()?
                .is_none()
                .then_some(())
        },
    )
    .await;
}
