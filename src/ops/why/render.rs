//! The human report: one headed section per question.

use serde_json::Value;

use crate::output;

use super::model::*;

/// The human report: one headed section per question.
pub fn render_text(e: &Explanation) -> String {
    let mut out = String::new();
    let t = &e.template;
    let place = if t.namespace.is_empty() {
        t.name.clone()
    } else {
        format!("{}/{}", t.namespace, t.name)
    };
    out.push_str(&format!(
        "Template:  {} {place} ({})",
        t.kind, t.api_version
    ));
    if let Some(r) = t.replicas {
        out.push_str(&format!(", {r} replica(s)"));
    }
    out.push('\n');
    for n in &e.notes {
        out.push_str(&format!("Note:      {n}\n"));
    }

    out.push_str("\nPolicy:\n");
    let p = &e.policy;
    match &p.winner {
        Some(w) => {
            out.push_str(&format!(
                "  Claimed by {} (priority {}, matches by {})\n  Why: {}\n",
                w.describe(),
                w.priority,
                w.matched_by,
                p.reason
            ));
        }
        None => out.push_str(&format!("  None: {}\n", p.reason)),
    }
    if !p.beaten.is_empty() {
        out.push_str("  Beaten:\n");
        for b in &p.beaten {
            out.push_str(&format!(
                "    {} (priority {}, matches by {}): {}\n",
                b.policy.describe(),
                b.policy.priority,
                b.policy.matched_by,
                b.why
            ));
        }
    }
    if p.winner.is_none() {
        if p.near_misses.is_empty() {
            out.push_str(&format!(
                "  No selector comes close: no policy selects {} {} by kind or by name.\n",
                t.api_version, t.kind
            ));
        } else {
            out.push_str("  Near misses:\n");
            for m in &p.near_misses {
                out.push_str(&format!(
                    "    {} selector [{}]:\n",
                    m.policy.describe(),
                    m.selector
                ));
                for why in &m.misses {
                    out.push_str(&format!("      - {why}\n"));
                }
            }
        }
    }

    if let Some(pl) = &e.placement {
        out.push_str(&format!("\nClusters (placement from {}", pl.source));
        if let Some(a) = &pl.affinity_name {
            out.push_str(&format!(", clusterAffinities term {a}"));
        }
        out.push_str("):\n");
        let rows = pl.clusters.iter().map(|c| {
            vec![
                format!("  {}", c.cluster),
                if c.fits { "yes".into() } else { "no".into() },
                if c.targeted {
                    "yes".into()
                } else {
                    "no".into()
                },
                c.replicas
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                c.reason.clone().unwrap_or_default(),
            ]
        });
        out.push_str(&output::table(
            &["  CLUSTER", "FITS", "TARGETED", "REPLICAS", "REASON"],
            rows,
        ));
        if let Some(f) = &pl.failure {
            out.push_str(&format!("  No placement: {f}\n"));
        }
        if let Some(s) = &pl.scheduled {
            out.push_str(&format!("  Scheduled: {s}\n"));
        }
    }

    if let Some(r) = &e.replicas {
        out.push_str(&format!("\nReplicas ({}):\n  {}\n", r.mode, r.explanation));
        if !r.scheduled.is_empty() && r.scheduled != r.result {
            let s: Vec<String> = r
                .scheduled
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            out.push_str(&format!("  Last scheduled: {}\n", s.join(", ")));
        }
    }

    if !e.overrides.is_empty() {
        out.push_str("\nOverrides:\n");
        for o in &e.overrides {
            if o.rules.is_empty() {
                out.push_str(&format!("  {}: none\n", o.cluster));
                continue;
            }
            out.push_str(&format!("  {}:\n", o.cluster));
            for rule in &o.rules {
                out.push_str(&format!("    rule  {rule}\n"));
            }
            if let Some(err) = &o.error {
                out.push_str(&format!("    error {err}\n"));
            }
            for c in &o.changes {
                let show = |v: &Option<Value>| match v {
                    None => "(unset)".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    c.path,
                    show(&c.before),
                    show(&c.after)
                ));
            }
        }
    }

    if !e.apply.is_empty() {
        out.push_str("\nApply:\n");
        for a in &e.apply {
            let applied = match &a.applied {
                Some(s) if a.reason.is_empty() => format!("Applied={s}"),
                Some(s) => format!("Applied={s} ({})", a.reason),
                None if a.work.is_none() => "no Work yet".to_string(),
                None => "not applied yet".to_string(),
            };
            out.push_str(&format!("  {}: {applied}", a.cluster));
            if a.conflict {
                out.push_str(" CONFLICT");
            }
            if let Some(h) = &a.health {
                out.push_str(&format!(", health {h}"));
            }
            out.push_str(&format!(", cluster Ready={}\n", a.cluster_ready));
            if !a.message.is_empty() && a.applied.as_deref() != Some("True") {
                out.push_str(&format!("    {}\n", a.message));
            }
        }
    }
    out
}
