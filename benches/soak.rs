//! Churn soak (docs/performance.md, hack/soak.sh): for SOAK_SECS (default 150) create, update
//! and delete Deployment templates and their PropagationPolicies, retarget policies and
//! cordon/uncordon members at SOAK_RATE operations per second (default 5), sampling the
//! reconciler's RSS every second. Then uncordon everything, wait until the reconciler is quiet
//! and check: every template with a policy is in exactly its target members, at its latest
//! revision; nothing else is managed in any member. Exits non-zero when an invariant fails.
//!
//!   SOAK_SECS=600 cargo bench --bench soak -- [--members M] [--json PATH]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{Federation, proc_stats};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use karmadactl::client::connect::Target;
use karmadactl::testbed::CONTROL_PLANE;

const NS: &str = "soak";
const MAX_LIVE: usize = 60;

/// xorshift64*: reproducible with SOAK_SEED, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Debug, Clone)]
struct Live {
    rev: u64,
    targets: BTreeSet<String>,
}

fn template(name: &str, rev: u64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": {"soak/rev": rev.to_string()}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}}
    })
}

fn policy(name: &str, targets: &BTreeSet<String>) -> Value {
    json!({
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": {"clusterAffinity": {"clusterNames": targets}}
        }
    })
}

fn rev_of(d: &Deployment) -> u64 {
    d.spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get("soak/rev"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    if common::skip_unless_bench("soak") {
        return;
    }
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let rate: f64 = std::env::var("SOAK_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let m: usize = common::arg("--members").unwrap_or(2);
    let json_path: Option<String> = common::arg("--json");
    let before = common::machine();
    eprintln!("soak: {secs}s at {rate} ops/s, {m} members, SOAK_SEED={seed}; machine {before}");

    let fed = Federation::start(m, 8).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let target = Target {
        kubeconfig: Some(fed.bed.kubeconfig().to_path_buf()),
        context: Some(CONTROL_PLANE.into()),
    };
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(cp.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let deploys: Api<Deployment> = Api::namespaced(cp.clone(), NS);
    let pp_ar = kube::discovery::ApiResource::erase::<karmadactl::api::PropagationPolicy>(&());
    let pps: Api<DynamicObject> = Api::namespaced_with(cp.clone(), NS, &pp_ar);
    let apply = PatchParams::apply("soak").force();

    let mut rng = Rng(seed);
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    let mut cordoned: BTreeSet<String> = BTreeSet::new();
    let mut next_id = 0u64;
    let mut ops: BTreeMap<&str, u64> = BTreeMap::new();
    let mut rss: Vec<(f64, f64)> = Vec::new(); // (seconds, MiB)
    let random_targets = |rng: &mut Rng| -> BTreeSet<String> {
        let mut t: BTreeSet<String> = fed
            .members
            .iter()
            .filter(|_| rng.below(2) == 0)
            .cloned()
            .collect();
        if t.is_empty() {
            t.insert(fed.members[rng.below(fed.members.len())].clone());
        }
        t
    };
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now();
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    while started.elapsed() < Duration::from_secs(secs) {
        if last_sample.elapsed() >= Duration::from_secs(1) {
            let s = proc_stats(fed.pid());
            rss.push((started.elapsed().as_secs_f64(), s.rss_kib as f64 / 1024.0));
            last_sample = Instant::now();
        }
        let names: Vec<String> = live.keys().cloned().collect();
        let roll = rng.below(100);
        let op = if names.is_empty() || (roll < 35 && live.len() < MAX_LIVE) {
            "create"
        } else if roll < 60 {
            "update-template"
        } else if roll < 75 {
            "retarget-policy"
        } else if roll < 92 {
            "delete"
        } else {
            "cordon-toggle"
        };
        match op {
            "create" => {
                next_id += 1;
                let name = format!("app-{next_id}");
                let targets = random_targets(&mut rng);
                // Half the time the policy comes first, half the time the template.
                if rng.below(2) == 0 {
                    pps.patch(&name, &apply, &Patch::Apply(&policy(&name, &targets)))
                        .await
                        .unwrap();
                    deploys
                        .patch(&name, &apply, &Patch::Apply(&template(&name, 1)))
                        .await
                        .unwrap();
                } else {
                    deploys
                        .patch(&name, &apply, &Patch::Apply(&template(&name, 1)))
                        .await
                        .unwrap();
                    pps.patch(&name, &apply, &Patch::Apply(&policy(&name, &targets)))
                        .await
                        .unwrap();
                }
                live.insert(name, Live { rev: 1, targets });
            }
            "update-template" => {
                let name = &names[rng.below(names.len())];
                let l = live.get_mut(name).unwrap();
                l.rev += 1;
                deploys
                    .patch(name, &apply, &Patch::Apply(&template(name, l.rev)))
                    .await
                    .unwrap();
            }
            "retarget-policy" => {
                let name = &names[rng.below(names.len())];
                let targets = random_targets(&mut rng);
                pps.patch(name, &apply, &Patch::Apply(&policy(name, &targets)))
                    .await
                    .unwrap();
                live.get_mut(name).unwrap().targets = targets;
            }
            "delete" => {
                let name = names[rng.below(names.len())].clone();
                if rng.below(2) == 0 {
                    let _ = deploys.delete(&name, &DeleteParams::default()).await;
                    let _ = pps.delete(&name, &DeleteParams::default()).await;
                } else {
                    let _ = pps.delete(&name, &DeleteParams::default()).await;
                    let _ = deploys.delete(&name, &DeleteParams::default()).await;
                }
                live.remove(&name);
            }
            _ => {
                let member = fed.members[rng.below(fed.members.len())].clone();
                if cordoned.remove(&member) {
                    karmadactl::ops::cordon::uncordon(&target, &member, false)
                        .await
                        .unwrap();
                } else {
                    karmadactl::ops::cordon::cordon(&target, &member, false)
                        .await
                        .unwrap();
                    cordoned.insert(member);
                }
            }
        }
        *ops.entry(op).or_default() += 1;
        next += interval;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
    let churn = started.elapsed();
    for member in std::mem::take(&mut cordoned) {
        karmadactl::ops::cordon::uncordon(&target, &member, false)
            .await
            .unwrap();
    }
    let quiet_started = Instant::now();
    let quiet = fed
        .quiesce(Duration::from_secs(10), Duration::from_secs(300))
        .await;
    let quiesced_in = quiet_started.elapsed().as_secs_f64() - 10.0;
    let end = proc_stats(fed.pid());
    rss.push((started.elapsed().as_secs_f64(), end.rss_kib as f64 / 1024.0));

    // Invariants: exactly the live templates, at their latest revision, in exactly their targets.
    let mut problems = Vec::new();
    for name in &fed.members {
        let member = fed.bed.client(name).await.unwrap();
        let list = Api::<Deployment>::all(member)
            .list(&ListParams::default().labels("karmada.io/managed=true"))
            .await
            .unwrap();
        let mut have: BTreeMap<String, u64> = BTreeMap::new();
        for d in &list.items {
            if d.metadata.deletion_timestamp.is_some() {
                problems.push(format!("{name}: {} still terminating", d.name_any()));
            }
            have.insert(
                format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any()),
                rev_of(d),
            );
        }
        for (app, l) in &live {
            let key = format!("{NS}/{app}");
            match (l.targets.contains(name), have.remove(&key)) {
                (true, None) => problems.push(format!("{name}: missing {key}")),
                (true, Some(rev)) if rev != l.rev => {
                    problems.push(format!("{name}: {key} at rev {rev}, template at {}", l.rev))
                }
                (false, Some(_)) => problems.push(format!("{name}: {key} is not targeted there")),
                _ => {}
            }
        }
        for key in have.keys() {
            problems.push(format!("{name}: orphan {key}"));
        }
    }

    // RSS trend: first-quarter median vs last-quarter median of the churn samples.
    let q = (rss.len() / 4).max(1);
    let mib: Vec<f64> = rss.iter().map(|(_, r)| *r).collect();
    let first = common::median(&mib[..q]);
    let last = common::median(&mib[mib.len().saturating_sub(q)..]);
    let growth = last - first;
    println!();
    println!(
        "churn {:.0}s, ops {ops:?}, live templates at end {}",
        churn.as_secs_f64(),
        live.len()
    );
    println!(
        "quiet after {:.1}s{}",
        quiesced_in,
        if quiet {
            ""
        } else {
            " (NEVER QUIET within 300s)"
        }
    );
    println!(
        "reconciler RSS: first quarter median {first:.1} MiB, last quarter median {last:.1} MiB \
         ({growth:+.1} MiB), peak {:.1} MiB, CPU {:.1}s",
        end.hwm_kib as f64 / 1024.0,
        end.cpu_secs
    );
    println!(
        "invariants: {}",
        if problems.is_empty() {
            "OK".to_string()
        } else {
            format!("{} problems", problems.len())
        }
    );
    for p in &problems {
        println!("  {p}");
    }
    let after = common::machine();
    println!("machine before/after: {before} / {after}");
    if let Some(path) = json_path {
        let report = json!({
            "bench": "soak", "seconds": churn.as_secs_f64(), "rate": rate, "seed": seed,
            "members": m, "ops": ops, "live_at_end": live.len(), "quiet": quiet,
            "quiesce_seconds": quiesced_in,
            "rss_mib": {"first_quarter_median": first, "last_quarter_median": last,
                "growth": growth, "peak": end.hwm_kib as f64 / 1024.0, "samples": rss},
            "cpu_seconds": end.cpu_secs,
            "problems": problems,
            "machine_before": before, "machine_after": after,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("wrote {path}");
    }
    if !problems.is_empty() || !quiet {
        std::process::exit(1);
    }
}
