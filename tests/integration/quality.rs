//! The quality model: `orchsim calibrate pass-at-k`, and (once `error_correlation` is
//! wired into the simulation) the closed forms of correlated errors.

use crate::common::*;

fn calibrate(args: &[&str]) -> assert_cmd::assert::Assert {
    let t = tmp("calibrate");
    orchsim(t.path()).args(["calibrate", "pass-at-k"]).args(args).assert()
}

#[test]
fn codex_on_humaneval_calibrates_to_0_902() {
    // Chen et al. 2021, Codex-12B on HumanEval: pass@1 28.81%, pass@10 46.81%.
    let out = calibrate(&["--pass1", "0.2881", "--pass-at", "10=0.4681"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let first = text.lines().next().unwrap_or_default();
    let rho: f64 = first.strip_prefix("error_correlation = ").and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    assert!((rho - 0.902).abs() <= 0.001, "{text}");
    // Everything else is a TOML comment, so the whole output pastes into a scenario.
    assert!(text.lines().skip(1).all(|l| l.starts_with('#')), "{text}");
    for k in [1, 2, 5, 10, 100] {
        assert!(text.lines().any(|l| l.split_whitespace().nth(1) == Some(&k.to_string())), "no pass@{k} row: {text}");
    }
    // pass@1 is the model's marginal, exactly; the comment cites the inputs.
    assert!(text.contains("#     1   0.2881   0.2881"), "{text}");
    assert!(text.contains("pass@1 = 0.2881, pass@10 = 0.4681"), "{text}");
}

#[test]
fn impossible_figures_exit_2_with_the_reason() {
    for (args, says) in [
        (&["--pass1", "0.3", "--pass-at", "10=0.2"][..], "below pass@1"),
        (&["--pass1", "0.3", "--pass-at", "1=0.5"][..], "at least 2"),
        (&["--pass1", "0.3", "--pass-at", "10=1.5"][..], "strictly between 0 and 1"),
        (&["--pass1", "0", "--pass-at", "10=0.5"][..], "strictly between 0 and 1"),
        (&["--pass1", "0.3", "--pass-at", "ten=0.5"][..], "whole number"),
        (&["--pass1", "0.3", "--pass-at", "10"][..], "expected K=P"),
        (&["--pass1", "0.3", "--pass-at", "5=0.6", "--pass-at", "10=0.5"][..], "cannot fall"),
    ] {
        let out = calibrate(args).code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.get_output().stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn the_readme_shows_what_calibrate_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme.find("$ orchsim calibrate pass-at-k").expect("the README shows a calibration");
    let block = &readme[start..];
    let block = &block[block.find('\n').map_or(0, |i| i + 1)..block.find("```").unwrap_or(block.len())];
    let out = calibrate(&["--pass1", "0.2881", "--pass-at", "10=0.4681"]).success();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), block);
}
