//! Rules of the agents world that no statistical test pins down, each checked against an
//! exact value.
//!
//! Every scenario here is built so that no random draw can change the expected value:
//! error rates of 0 or 1, systematic faults, constant token counts and times, reviewers
//! with recall 1 and no false positives. The tied vote, which one agent cannot produce
//! deterministically, is checked by an identity that holds for every draw. So the tests
//! keep holding when the random streams are re-keyed.

use orchsim::economics::{Category, Usd};
use orchsim::model::Scenario;

use crate::common::load_scenario as load;
use orchsim::workflow::{Outcome, WorldOptions, WorldResult, run_world};

/// One token at $1/Mtok, in pico-dollars.
const MICRO_USD: i128 = 1_000_000;

/// Runs the strategy named `name` in replication 0, with the task log.
fn world(sc: &Scenario, name: &str) -> WorldResult {
    let s = sc.strategies.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no strategy {name}"));
    run_world(sc, s, 0, WorldOptions { task_log: true }, None)
}

/// The ledger row named `name` (a step id, or `orchestrator`, `escalation`, ...).
fn row(w: &WorldResult, name: &str) -> usize {
    w.row_names.iter().position(|(r, _)| r == name).unwrap_or_else(|| panic!("no row {name}: {:?}", w.row_names))
}

/// Tasks arrive at once; one model at $`input`/Mtok in and $`output`/Mtok out, with
/// constant latency, no transient errors and unlimited concurrency.
fn header(tasks: u32, input: u32, output: u32) -> String {
    format!(
        "name = \"rules\"\nseed = 3\nreplications = 1\n[workload]\ntasks = {tasks}\narrivals = {{ process = \"batch\" }}\n\
         [models.m]\ninput_usd_per_mtok = {input}\noutput_usd_per_mtok = {output}\nttft_s = 1\noutput_tokens_per_s = 100\n"
    )
}

#[test]
fn the_root_cause_is_the_first_defective_step() {
    // a is right, b is always wrong (stochastically, at rate 1), c is right, d is
    // always wrong by a systematic fault: every task carries defects from b and d, and
    // its root cause is b, a stochastic fault. An orchestrator that is always wrong plans
    // before any step, so in `planned` it is the root cause instead.
    let sc = load(&format!(
        "{}[agents.ok]\nmodel = \"m\"\noutput_tokens = 10\n[agents.bad]\nmodel = \"m\"\noutput_tokens = 10\nerror_rate = 1\n\
         [agents.sys]\nmodel = \"m\"\noutput_tokens = 10\nsystematic = {{ classes = [\"default\"] }}\n\
         [strategies.pipeline]\nsteps = [{{ id = \"a\", agent = \"ok\" }}, {{ id = \"b\", agent = \"bad\" }}, {{ id = \"c\", agent = \"ok\" }}, {{ id = \"d\", agent = \"sys\" }}]\n\
         [strategies.planned]\norchestrator = {{ agent = \"bad\", calls = \"per_task\" }}\n\
         steps = [{{ id = \"a\", agent = \"ok\" }}, {{ id = \"b\", agent = \"bad\" }}, {{ id = \"c\", agent = \"ok\" }}, {{ id = \"d\", agent = \"sys\" }}]\n",
        header(20, 1, 1)
    ));
    let w = world(&sc, "pipeline");
    assert_eq!((w.counters.wrong, w.counters.tasks), (20, 20));
    let (b, d) = (row(&w, "b"), row(&w, "d"));
    assert_eq!((w.ledger.rows[b].defects_introduced, w.ledger.rows[d].defects_introduced), (20, 20), "both are in the defect set");
    assert_eq!(w.ledger.rows[b].root_causes, 20);
    assert_eq!(w.ledger.rows[b].systematic_root_causes, 0, "b's fault is stochastic");
    assert_eq!(w.ledger.rows.iter().map(|r| r.root_causes).sum::<u64>(), 20, "only b is a root cause");
    assert!(w.task_rows.iter().all(|t| t.outcome == Outcome::Wrong && t.root_cause == Some(b)));

    let w = world(&sc, "planned");
    let o = row(&w, "orchestrator");
    assert_eq!(w.ledger.rows[o].root_causes, 20);
    assert_eq!(w.ledger.rows.iter().map(|r| r.root_causes).sum::<u64>(), 20);
    assert!(w.task_rows.iter().all(|t| t.root_cause == Some(o)));
}

#[test]
fn context_previous_bills_only_the_direct_predecessors_outputs() {
    // a -> b -> c, and d after a and c. Each step reads 50 task tokens and 10 hand-off
    // tokens, plus its context; outputs are 100, 200, 300 and 40 tokens.
    let steps = "steps = [{ id = \"a\", agent = \"a\" }, { id = \"b\", agent = \"b\" }, { id = \"c\", agent = \"c\" }, { id = \"d\", agent = \"d\", after = [\"a\", \"c\"] }]";
    let mut toml = header(2, 2, 5);
    for (agent, out) in [("a", 100), ("b", 200), ("c", 300), ("d", 40)] {
        toml += &format!("[agents.{agent}]\nmodel = \"m\"\ninput_tokens = 50\noutput_tokens = {out}\n");
    }
    for context in ["previous", "all"] {
        toml += &format!("[strategies.{context}]\ncontext = \"{context}\"\nhandoff_tokens = 10\n{steps}\n");
    }
    let sc = load(&toml);
    // Input tokens per step and task: 50 + 10 + context.
    //   previous: a 60, b 60+100 = 160, c 60+200 = 260, d 60+100+300 = 460  (sum 940)
    //   all:      a 60, b 160, c 60+100+200 = 360, d 60+100+200+300 = 660  (sum 1240)
    // Output: 100 + 200 + 300 + 40 = 640 tokens. At $2/Mtok in and $5/Mtok out:
    //   previous: 940*2 + 640*5 = 5080 micro-dollars per task; all: 1240*2 + 3200 = 5680.
    for (context, tokens_in, micro_usd) in [("previous", [60, 160, 260, 460], 5080), ("all", [60, 160, 360, 660], 5680)] {
        let w = world(&sc, context);
        let got: Vec<u64> = ["a", "b", "c", "d"].iter().map(|s| w.ledger.rows[row(&w, s)].tokens_in).collect();
        assert_eq!(got, tokens_in.map(|t| 2 * t), "{context}: input tokens of two tasks by step");
        assert_eq!(w.ledger.total, Usd(2 * micro_usd * MICRO_USD), "{context}: the bill of two tasks");
        // Hand-off tokens are the orchestration overhead: 4 steps x 10 tokens x $2/Mtok.
        assert_eq!(w.ledger.category(Category::Orchestration), Usd(2 * 80 * MICRO_USD), "{context}");
        assert!(w.task_rows.iter().all(|t| t.cost == Usd(micro_usd * MICRO_USD)), "{context}: each task's bill");
    }
}

#[test]
fn an_orchestrators_systematic_fault_takes_effect() {
    // The orchestrator never errs at random but is systematically wrong on class x; the
    // steps never err. Tasks of class x are wrong, with the orchestrator as systematic
    // root cause; tasks of class y are correct. Per step, each of the two plans of a
    // class-x task is a defect.
    let mut toml = header(40, 1, 1).replace(
        "[models.m]",
        "[[workload.classes]]\nname = \"x\"\nshare = 0.5\n[[workload.classes]]\nname = \"y\"\nshare = 0.5\n[models.m]",
    );
    toml += "[agents.boss]\nmodel = \"m\"\noutput_tokens = 5\nsystematic = { classes = [\"x\"] }\n[agents.ok]\nmodel = \"m\"\noutput_tokens = 10\n";
    for calls in ["per_task", "per_step"] {
        toml += &format!(
            "[strategies.{calls}]\norchestrator = {{ agent = \"boss\", calls = \"{calls}\" }}\nsteps = [{{ id = \"a\", agent = \"ok\" }}, {{ id = \"b\", agent = \"ok\" }}]\n"
        );
    }
    let sc = load(&toml);
    for (calls, plans) in [("per_task", 1), ("per_step", 2)] {
        let w = world(&sc, calls);
        let o = row(&w, "orchestrator");
        let x = w.task_rows.iter().filter(|t| t.class == 0).count() as u64;
        assert!(x > 0 && x < 40, "both classes occur");
        for t in &w.task_rows {
            if t.class == 0 {
                assert_eq!((t.outcome, t.root_cause), (Outcome::Wrong, Some(o)), "{calls}: task {} of class x", t.task);
            } else {
                assert_eq!((t.outcome, t.root_cause), (Outcome::Correct, None), "{calls}: task {} of class y", t.task);
            }
        }
        let r = &w.ledger.rows[o];
        assert_eq!((r.root_causes, r.systematic_root_causes, r.defects_introduced), (x, x, plans * x), "{calls}");
        assert_eq!((w.counters.wrong, w.counters.correct), (x, 40 - x), "{calls}");
    }
}

#[test]
fn an_escalations_human_cost_is_not_waste() {
    // The worker is always wrong, the reviewer always flags it, no rework is allowed, and
    // people finish every task (half an hour at $80, never wrong).
    let sc = load(&format!(
        "{}[agents.w]\nmodel = \"m\"\ninput_tokens = 100\noutput_tokens = 200\nerror_rate = 1\n\
         [agents.r]\nmodel = \"m\"\noutput_tokens = 10\nreview = {{ recall = 1, false_positive_rate = 0 }}\n\
         [strategies.s]\nescalation = {{ hours = 0.5, usd_per_hour = 80, error_rate = 0 }}\n\
         steps = [{{ id = \"work\", agent = \"w\" }}, {{ id = \"check\", agent = \"r\", max_rework = 0, on_exhausted = \"escalate\" }}]\n",
        header(5, 1, 4)
    ));
    let w = world(&sc, "s");
    // Agents per task: 100 in + 200 out x $4 = 900 micro-dollars for the worker, 10 out x
    // $4 = 40 for the reviewer. People: 0.5 h x $80 = $40.
    let (agents, people) = (Usd(940 * MICRO_USD), Usd(40_000_000 * MICRO_USD));
    let c = &w.counters;
    assert_eq!((c.escalated, c.correct, c.wrong, c.failed), (5, 5, 0, 0));
    assert_eq!(w.ledger.category(Category::Human), Usd(5 * people.0));
    assert_eq!(w.ledger.total, Usd(5 * (agents.0 + people.0)));
    assert_eq!(c.wasted, Usd(5 * agents.0), "only the agents' spend is waste");
    assert!(w.task_rows.iter().all(|t| t.outcome == Outcome::Escalated && t.root_cause.is_none()));
}

#[test]
fn a_tied_vote_is_not_correct() {
    // Two replicas voting are right only when both are (more than half): exactly when
    // merge = "all" is right. Both runs draw the same numbers (same strategy, same step),
    // so every task must end the same way under both merges, whatever the draws are.
    // At error rate 0.5, a task with one wrong replica (a tie) occurs with probability
    // 1/2 each, so ties are certain among 400 tasks.
    let toml = |merge: &str| {
        format!(
            "{}[agents.w]\nmodel = \"m\"\noutput_tokens = 10\nerror_rate = 0.5\n\
             [strategies.s]\nsteps = [{{ id = \"a\", agent = \"w\", replicas = 2, merge = \"{merge}\" }}]\n",
            header(400, 1, 1)
        )
    };
    let (vote, all) = (world(&load(&toml("vote")), "s"), world(&load(&toml("all")), "s"));
    let outcomes = |w: &WorldResult| w.task_rows.iter().map(|t| (t.task, t.outcome)).collect::<Vec<_>>();
    assert_eq!(outcomes(&vote), outcomes(&all), "a vote of two is right only when both replicas are");
    assert_eq!(vote.counters.wrong, all.counters.wrong);
    assert!(vote.counters.wrong > 0 && vote.counters.correct > 0, "{:?}", (vote.counters.wrong, vote.counters.correct));
    // Deterministic ends: replicas that always err, or never, decide the vote alone.
    for (rate, wrong) in [("1", 400), ("0", 0)] {
        let w = world(&load(&toml("vote").replace("error_rate = 0.5", &format!("error_rate = {rate}"))), "s");
        assert_eq!(w.counters.wrong, wrong, "error_rate = {rate}");
    }
}
