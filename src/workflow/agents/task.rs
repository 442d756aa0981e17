//! Task state: one slot per task in flight, reused through a free list, and the task's
//! life after its steps: escalation to people, the decision, and the final tally.

use rand_distr::{Distribution, StandardNormal};

use super::super::draws::Draw;
use super::super::{Outcome, TaskRow, TaskSpec, tally};
use super::{Ev, World};
use crate::economics::ledger::Category;
use crate::economics::money::Usd;
use crate::engine::SimTime;
use crate::model::quality::is_wrong;
use crate::workflow::event::{Event, Observer};

/// A task in flight. Per-step vectors have one entry per step (`live_cost` one more,
/// for the orchestrator's per-task plan); they are kept across reuses of the slot.
#[derive(Debug, Default)]
pub(super) struct Task {
    pub(super) spec: Option<TaskSpec>,
    pub(super) id: u64,
    /// Bumped when the slot is freed, so that an event for an earlier task in this slot
    /// (an escalation) can tell it is late.
    pub(super) generation: u32,
    pub(super) bu: usize,
    /// Class index.
    pub(super) class: usize,
    /// The task's latent difficulty `z`, drawn when first needed (NaN until then; its
    /// key is the task's, so when it is drawn does not matter).
    pub(super) z: f64,
    /// Steps done (bit s).
    pub(super) done: u64,
    /// Steps launched and not yet done (bit s).
    pub(super) launched: u64,
    /// Worker steps whose current output is defective (bits 0..63).
    pub(super) defects: u64,
    /// The orchestrator's defective plans: bit s for its plan of step s (per step), or
    /// `ORCH_BIT` for its plan of the whole task (per task).
    pub(super) orch_defects: u64,
    /// Entries (step bits, `ORCH_BIT`) with a systematic fault on this task.
    pub(super) systematic: u64,
    /// Per step: the execution number, bumped by a rework (not reset with the slot;
    /// calls compare it for equality only).
    pub(super) epoch: Vec<u32>,
    /// Per live slot (steps, then the per-task plan): executions started before the
    /// current one (a rework reruns a step); keys the draws of its calls.
    pub(super) runs: Vec<u32>,
    /// Calls of this task not yet released.
    pub(super) in_flight: u32,
    /// No new calls: the outcome is decided or people have the task.
    pub(super) stopped: bool,
    /// When the task's outcome was decided (delivered, failed, or finished by people):
    /// its finish time, even if stale calls keep its slot busy a little longer.
    pub(super) decided_at: SimTime,
    pub(super) escalating: bool,
    /// (outcome, root-cause row, systematic), once decided.
    pub(super) final_outcome: Option<(Outcome, Option<usize>, bool)>,
    /// Per step: replicas still running, and replicas whose verdict or output was bad.
    pub(super) rep_pending: Vec<u32>,
    pub(super) rep_bad: Vec<u32>,
    /// Per step: output tokens of its current execution (context for later steps).
    pub(super) out_tokens: Vec<u64>,
    /// Per live slot: spend on the current execution, moved to waste by a rework.
    pub(super) live_cost: Vec<Usd>,
    pub(super) rework_used: Vec<u32>,
    pub(super) cost: Usd,
    pub(super) wasted: Usd,
    pub(super) human_cost: Usd,
    pub(super) tokens_in: u64,
    pub(super) tokens_out: u64,
    pub(super) attempts: u64,
    pub(super) reworks: u64,
}

impl Task {
    /// An empty slot for a strategy of `n` steps.
    pub(super) fn new(n: usize) -> Task {
        Task {
            rep_pending: vec![0; n],
            rep_bad: vec![0; n],
            out_tokens: vec![0; n],
            live_cost: vec![Usd::ZERO; n + 1],
            rework_used: vec![0; n],
            epoch: vec![0; n],
            runs: vec![0; n + 1],
            ..Task::default()
        }
    }

    /// Makes this slot hold a newly arrived task: every field starts afresh except the
    /// slot's generation and step epochs, and the vectors keep their allocations. The
    /// destructuring names every field, so a field added to `Task` without a reset here
    /// does not compile.
    pub(super) fn reset(&mut self, spec: TaskSpec, bu: usize, systematic: u64) {
        let Task {
            spec: spec_slot,
            id,
            generation: _,
            bu: bu_slot,
            class,
            z,
            done,
            launched,
            defects,
            orch_defects,
            systematic: systematic_slot,
            epoch: _,
            runs,
            in_flight,
            stopped,
            decided_at,
            escalating,
            final_outcome,
            rep_pending,
            rep_bad,
            out_tokens,
            live_cost,
            rework_used,
            cost,
            wasted,
            human_cost,
            tokens_in,
            tokens_out,
            attempts,
            reworks,
        } = self;
        *spec_slot = Some(spec);
        *id = spec.id;
        *bu_slot = bu;
        *class = spec.class;
        // Drawn on first use, keyed by (replication, task) only.
        *z = f64::NAN;
        *systematic_slot = systematic;
        (*done, *launched, *defects, *orch_defects) = (0, 0, 0, 0);
        (*in_flight, *stopped, *escalating, *final_outcome) = (0, false, false, None);
        *decided_at = SimTime::ZERO;
        rep_pending.fill(0);
        rep_bad.fill(0);
        out_tokens.fill(0);
        live_cost.fill(Usd::ZERO);
        rework_used.fill(0);
        runs.fill(0);
        (*cost, *wasted, *human_cost) = (Usd::ZERO, Usd::ZERO, Usd::ZERO);
        (*tokens_in, *tokens_out, *attempts, *reworks) = (0, 0, 0, 0);
    }
}

/// The step key of escalation's draws ("escalation").
const ESCALATION: u64 = 0x6573_6361_6c61_7465;

impl<O: Observer> World<'_, O> {
    /// Task `t`'s latent difficulty, drawn on first use.
    pub(super) fn latent(&mut self, t: u32) -> f64 {
        let task = &mut self.tasks[t as usize];
        if task.z.is_nan() {
            task.z = self.draws.latent(task.id);
        }
        task.z
    }

    pub(super) fn escalate(&mut self, t: u32) {
        let Some(e) = &self.st.escalation else { return };
        let id = self.tasks[t as usize].id;
        let hours = e.hours.sample(&mut self.draws.people(id, ESCALATION, Draw::Hours));
        let cost = Usd::from_f64(hours * e.usd_per_hour);
        emit!(
            self,
            Event::Escalated {
                task: self.tasks[t as usize].id,
                step: self.rows[self.escalation_row].0.as_str().into(),
                agent: self.rows[self.escalation_row].1.as_str().into(),
                hours,
                cost_usd: cost
            }
        );
        self.charge_task(t, self.escalation_row, Category::Human, cost, None, false);
        self.ledger.rows[self.escalation_row].calls += 1;
        let task = &mut self.tasks[t as usize];
        task.stopped = true;
        task.escalating = true;
        let generation = task.generation;
        self.q.schedule_in(SimTime::from_secs(hours * 3600.0), Ev::EscalationFinished(t, generation));
    }

    pub(super) fn on_escalation_finished(&mut self, t: u32, generation: u32) {
        if self.tasks[t as usize].generation != generation {
            return;
        }
        // The people err by the same rule as the agents, on the task's own `z`.
        let (id, class) = (self.tasks[t as usize].id, self.tasks[t as usize].class);
        let (threshold, loading) = self.people[class];
        let wrong = threshold.value() > f64::NEG_INFINITY && {
            let eps = StandardNormal.sample(&mut self.draws.people(id, ESCALATION, Draw::Correct));
            is_wrong(threshold, loading, self.latent(t), eps)
        };
        emit!(self, Event::EscalationFinished { task: self.tasks[t as usize].id, correct: !wrong });
        let now = self.q.now();
        let task = &mut self.tasks[t as usize];
        task.escalating = false;
        task.decided_at = now;
        task.final_outcome = Some((Outcome::Escalated, if wrong { Some(self.escalation_row) } else { None }, false));
        self.maybe_finalize(t);
    }

    /// Stops a task: no new calls; it finishes once its calls in flight have ended.
    pub(super) fn stop(&mut self, t: u32, outcome: Outcome, root: Option<usize>, systematic: bool) {
        let now = self.q.now();
        let task = &mut self.tasks[t as usize];
        task.stopped = true;
        task.decided_at = now;
        task.final_outcome = Some((outcome, root, systematic));
        self.maybe_finalize(t);
    }

    pub(super) fn maybe_finalize(&mut self, t: u32) {
        let task = &self.tasks[t as usize];
        if task.in_flight == 0
            && !task.escalating
            && let Some((o, r, s)) = task.final_outcome
        {
            self.finish(t, o, r, s);
        }
    }

    pub(super) fn finish(&mut self, t: u32, outcome: Outcome, root: Option<usize>, systematic: bool) {
        let task = &mut self.tasks[t as usize];
        let Some(spec) = task.spec.take() else { return };
        let class = &self.sc.workload.classes[spec.class];
        // Timed at the decision, not at the end of stale calls that outlived it.
        let at = task.decided_at;
        let latency = at - spec.arrival;
        // An escalated task is correct unless the people erred (then its root cause is
        // the escalation row); the agents' spend on it, like all of a failed task's, is waste.
        let delivered = match outcome {
            Outcome::Correct => Some(true),
            Outcome::Wrong => Some(false),
            Outcome::Failed => None,
            Outcome::Escalated => Some(root.is_none()),
        };
        tally(&mut self.counters, &mut self.ledger.bus[task.bu], class, spec.arrival, at, delivered);
        let c = &mut self.counters;
        match outcome {
            Outcome::Failed => task.wasted = task.cost,
            Outcome::Escalated => {
                c.escalated += 1;
                task.wasted = task.cost - task.human_cost;
            }
            Outcome::Correct | Outcome::Wrong => {}
        }
        c.wasted += task.wasted;
        // Root causes are counted for every task that did not end correct.
        if let Some(r) = root {
            self.ledger.rows[r].root_causes += 1;
            if systematic {
                self.ledger.rows[r].systematic_root_causes += 1;
            }
        }
        emit!(
            self,
            Event::TaskFinished {
                task: spec.id,
                bu: self.sc.business_units[task.bu].as_str().into(),
                outcome,
                latency_s: latency.as_secs(),
                task_cost_usd: task.cost,
                root_cause: root.map(|r| self.rows[r].0.as_str().into()),
                systematic,
            }
        );
        if self.opts.task_log {
            self.task_rows.push(TaskRow {
                task: spec.id,
                class: spec.class,
                arrival_s: spec.arrival.as_secs(),
                finish_s: at.as_secs(),
                outcome,
                cost: task.cost,
                tokens_in: task.tokens_in,
                tokens_out: task.tokens_out,
                attempts: task.attempts,
                reworks: task.reworks,
                root_cause: root,
            });
        }
        task.generation = task.generation.wrapping_add(1);
        self.free_tasks.push(t);
    }
}
