//! `manifest.json`: what produced a run directory, and the digests of its files.

use serde_json::{Value, json};

use crate::scenario::{Loaded, to_toml_string};

/// Builds the manifest. `files` are `(name, sha256)` pairs of every data file, in the
/// order they were produced; `extra` holds command-specific fields (trail digest,
/// sweep grid).
pub fn build(loaded: &Loaded, command: &[String], options: Value, files: &[(String, String)], extra: Value) -> Vec<u8> {
    let sc = &loaded.scenario;
    let resolved = to_toml_string(&loaded.tree);
    let mut m = json!({
        "orchsim_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "scenario_file": loaded.source.file,
        "scenario_sha256": loaded.source.sha256(),
        "resolved_scenario_sha256": super::sha256_hex(resolved.as_bytes()),
        "seed": sc.seed,
        "replications": sc.replications,
        "options": options,
        "scenario": loaded.tree.to_json(),
        "scenario_toml": resolved,
        "files": files.iter().map(|(n, h)| (n.clone(), Value::String(h.clone()))).collect::<serde_json::Map<_, _>>(),
        "inputs": sc.inputs.iter().map(|(p, h)| json!({"file": p, "sha256": h})).collect::<Vec<_>>(),
        "price_map": { "source": sc.prices.label, "sha256": sc.prices.sha256 },
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut m, extra) {
        m.extend(e);
    }
    let mut s = serde_json::to_string_pretty(&m).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}
