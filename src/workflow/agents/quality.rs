//! Quality: whether an agent's output is wrong, reviews and their votes, rework, and
//! the root cause of a defective task.

use super::super::Outcome;
use super::super::draws::{Draw, normal, uniform};
use super::super::stream::keyed_uniform;
use super::attempt::Call;
use super::task::Task;
use super::{NO_STEP, World};
use crate::economics::money::Usd;
use crate::model::quality::{Loading, Threshold, is_wrong};
use crate::model::{Merge, OnExhausted};
use crate::workflow::TaskSpec;
use crate::workflow::event::{Event, Observer};

/// Defect bit of the orchestrator (steps use bits 0..63).
pub(super) const ORCH_BIT: u64 = 1 << 63;

impl<O: Observer> World<'_, O> {
    pub(super) fn on_call_succeeded(&mut self, call: &Call) {
        let t = call.task;
        if self.tasks[t as usize].stopped {
            self.maybe_finalize(t);
            return;
        }
        let row = call.row as usize;
        if row == self.orch_row {
            // The orchestrator's plan for a step (per step) or for the task (per task):
            // each plan is an entry of its own, which leaves the set when it is redrawn.
            let wrong = self.draws_wrong(call, ORCH_BIT);
            let plan = if (call.live as usize) < self.n { 1u64 << call.live } else { ORCH_BIT };
            let task = &mut self.tasks[t as usize];
            task.orch_defects &= !plan;
            if wrong {
                task.orch_defects |= plan;
                self.ledger.rows[row].defects_introduced += 1;
                let (id, sys) = (task.id, task.systematic & ORCH_BIT != 0);
                emit!(
                    self,
                    Event::DefectIntroduced {
                        task: id,
                        step: self.rows[row].0.as_str().into(),
                        agent: self.rows[row].1.as_str().into(),
                        systematic: sys
                    }
                );
            }
            if call.then_step == NO_STEP {
                self.launch_ready(t);
            } else {
                self.start_step(t, call.then_step as usize);
            }
            return;
        }
        let s = row;
        let agent = &self.sc.agents[call.agent as usize];
        let bad = match agent.review {
            // A defect is caught unless the reviewer misses it, by the quality model's
            // rule on the task's `z`; a clean task is flagged by an independent false alarm.
            Some(_) if defect_set(&self.tasks[t as usize]) != 0 => {
                let q = self.quality_of(call);
                !self.fails(call, q.miss, q.loading, Draw::Miss)
            }
            Some(rv) => rv.false_positive_rate > 0.0 && uniform(&self.attempt_key(call), Draw::FalseAlarm) < rv.false_positive_rate,
            None => self.draws_wrong(call, 1 << s),
        };
        let task = &mut self.tasks[t as usize];
        task.out_tokens[s] += call.billed_out;
        task.rep_pending[s] -= 1;
        if bad {
            task.rep_bad[s] += 1;
        }
        if task.rep_pending[s] > 0 {
            return;
        }
        let step = &self.st.steps[s];
        let bad = match step.merge {
            Merge::All => task.rep_bad[s] > 0,
            // Correct when more than half of the replicas are.
            Merge::Vote => 2 * (step.replicas - task.rep_bad[s]) <= step.replicas,
        };
        let bit = 1u64 << s;
        if agent.review.is_none() {
            task.defects &= !bit;
            task.done |= bit;
            let (id, sys) = (task.id, task.systematic & bit != 0);
            if bad {
                task.defects |= bit;
                self.ledger.rows[s].defects_introduced += 1;
                emit!(
                    self,
                    Event::DefectIntroduced {
                        task: id,
                        step: self.rows[s].0.as_str().into(),
                        agent: self.rows[s].1.as_str().into(),
                        systematic: sys
                    }
                );
            }
            emit!(
                self,
                Event::StepCompleted {
                    task: id,
                    step: self.rows[s].0.as_str().into(),
                    agent: self.rows[s].1.as_str().into(),
                    defective: bad,
                    systematic: sys
                }
            );
            self.launch_ready(t);
            return;
        }
        let (id, present) = (task.id, defect_set(task) != 0);
        emit!(
            self,
            Event::Reviewed {
                task: id,
                step: self.rows[s].0.as_str().into(),
                agent: self.rows[s].1.as_str().into(),
                flagged: bad,
                defects_present: present
            }
        );
        let task = &mut self.tasks[t as usize];
        if !bad {
            task.done |= bit;
            self.launch_ready(t);
            return;
        }
        // Flagged.
        if defect_set(task) != 0 {
            self.ledger.rows[s].defects_caught += 1;
        }
        if task.rework_used[s] < step.max_rework {
            task.rework_used[s] += 1;
            task.reworks += 1;
            let (id, n) = (task.id, task.rework_used[s]);
            emit!(
                self,
                Event::ReworkRequested {
                    task: id,
                    step: self.rows[s].0.as_str().into(),
                    agent: self.rows[s].1.as_str().into(),
                    to: step.reworks.map(|r| self.st.steps[r].id.as_str().into()),
                    rework: n,
                }
            );
            let task = &mut self.tasks[t as usize];
            let set = self.rework_set[s];
            for k in 0..self.n {
                let b = 1u64 << k;
                if set & b != 0 && (task.done | task.launched) & b != 0 {
                    // Calls still working for this execution become stale.
                    task.epoch[k] = task.epoch[k].wrapping_add(1);
                    task.runs[k] += 1;
                    if k != s {
                        // The flagging verdict did its job; everything else is thrown away.
                        task.wasted += task.live_cost[k];
                        task.live_cost[k] = Usd::ZERO;
                    }
                    task.done &= !b;
                    task.launched &= !b;
                    task.defects &= !b;
                    task.orch_defects &= !b;
                    task.out_tokens[k] = 0;
                    task.rep_pending[k] = 0;
                    task.rep_bad[k] = 0;
                }
            }
            self.launch_ready(t);
            return;
        }
        match step.on_exhausted {
            OnExhausted::Deliver => {
                task.done |= bit;
                self.launch_ready(t);
            }
            OnExhausted::Fail => {
                let d = defect_set(task);
                let (root, sys) = if d == 0 { (s, false) } else { root_cause(d, task.systematic, self.orch_row) };
                self.stop(t, Outcome::Failed, Some(root), sys);
            }
            OnExhausted::Escalate => self.escalate(t),
        }
    }

    /// Whether a call's output is wrong: always for a systematic fault (its entry's
    /// `bit`), else with marginal probability `error_rate × difficulty` (capped at 1),
    /// by the quality model's rule on the task's latent difficulty.
    pub(super) fn draws_wrong(&mut self, call: &Call, bit: u64) -> bool {
        if self.tasks[call.task as usize].systematic & bit != 0 {
            return true;
        }
        let q = self.quality_of(call);
        self.fails(call, q.wrong, q.loading, Draw::Correct)
    }

    /// The calling agent's quality on the call's task class.
    fn quality_of(&self, call: &Call) -> super::AgentQuality {
        self.quality[call.agent as usize * self.sc.workload.classes.len() + self.tasks[call.task as usize].class]
    }

    /// Whether `sqrt(rho) z + sqrt(1 - rho) eps < threshold` for the call's attempt:
    /// `eps` is the attempt's `draw`, `z` the task's. A threshold of `-inf` (a rate of 0)
    /// skips the draw, which has its own key; `z` is drawn only when it matters.
    fn fails(&mut self, call: &Call, threshold: Threshold, loading: Loading, draw: Draw) -> bool {
        if threshold.value() == f64::NEG_INFINITY {
            return false;
        }
        let z = if loading.common == 0.0 { 0.0 } else { self.latent(call.task) };
        is_wrong(threshold, loading, z, normal(&self.attempt_key(call), draw))
    }

    pub(super) fn is_systematic(&self, agent: usize, spec: &TaskSpec) -> bool {
        match &self.sc.agents[agent].systematic {
            Some(s) => s.classes.contains(&spec.class) || (s.share > 0.0 && keyed_uniform(spec.key, self.agent_salt[agent]) < s.share),
            None => false,
        }
    }
}

/// A task's defect set: the worker steps whose output is defective, plus `ORCH_BIT`
/// when any of the orchestrator's plans is.
pub(super) fn defect_set(task: &Task) -> u64 {
    task.defects | if task.orch_defects != 0 { ORCH_BIT } else { 0 }
}

/// The root cause of a non-empty defect set: the ledger row of its first entry
/// (pipeline order; the orchestrator, which plans before any step, comes first), and
/// whether that entry was a systematic fault.
pub(super) fn root_cause(defects: u64, systematic: u64, orch_row: usize) -> (usize, bool) {
    let bit = if defects & ORCH_BIT != 0 { ORCH_BIT } else { defects & defects.wrapping_neg() };
    let row = if bit == ORCH_BIT { orch_row } else { bit.trailing_zeros() as usize };
    (row, systematic & bit != 0)
}
