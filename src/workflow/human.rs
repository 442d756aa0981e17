//! The world of a human strategy: `teams` teams work tasks FIFO; each task takes
//! `hours_per_task` of every team member's time.

use std::collections::VecDeque;

use rand::RngExt;

use super::trail::{TrailWriter, json_str};
use super::{Outcome, TaskRow, TaskSpec, TaskStream, WorldOptions, WorldResult};
use crate::economics::ledger::{Category, Ledger};
use crate::economics::metrics::Counters;
use crate::economics::money::Usd;
use crate::engine::{EventQueue, SimRng, SimTime};
use crate::model::{HumanStrategy, Scenario};

/// Events of a human world.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The next task arrived (spec in `next`).
    TaskArrived,
    /// A team finished the task it was working on (index into `working`).
    TeamFinished(usize),
}

/// Runs a human strategy's world.
pub(crate) fn run(
    sc: &Scenario,
    h: &HumanStrategy,
    mut stream: TaskStream,
    mut rng: SimRng,
    opts: WorldOptions,
    mut trail: Option<TrailWriter>,
) -> WorldResult {
    let bu_json: Vec<String> = sc.business_units.iter().map(|b| format!(",\"bu\":{}", json_str(b))).collect();
    let mut q: EventQueue<Ev> = EventQueue::with_capacity(1024);
    let mut ledger = Ledger::new(1, sc.business_units.len());
    let mut c = Counters::default();
    let mut rows = Vec::new();
    let mut waiting: VecDeque<TaskSpec> = VecDeque::new();
    let mut working: Vec<Option<(TaskSpec, Usd)>> = vec![None; h.teams as usize];
    let mut free: Vec<usize> = (0..working.len()).rev().collect();
    let mut next = stream.next();
    if let Some(s) = next {
        q.schedule(s.arrival, Ev::TaskArrived);
    }
    let start = |team: usize,
                 spec: TaskSpec,
                 q: &mut EventQueue<Ev>,
                 rng: &mut SimRng,
                 ledger: &mut Ledger,
                 c: &mut Counters,
                 working: &mut Vec<Option<(TaskSpec, Usd)>>,
                 trail: &mut Option<TrailWriter>| {
        let now = q.now();
        c.record_wait(now - spec.arrival);
        let hours = h.hours_per_task.sample(rng);
        // Each member works the task's hours; rounded once to the pico-dollar.
        let cost = Usd::from_f64(hours * h.usd_per_hour * h.team_size as f64);
        let bu = sc.workload.classes[spec.class].business_unit;
        if let Some(tr) = trail.as_mut() {
            tr.event(
                now,
                "work_started",
                Some(spec.id),
                format_args!(
                    "{},\"step\":\"work\",\"agent\":\"team\",\"wait_s\":{},\"hours\":{hours},\"cost_usd\":\"{cost}\"",
                    bu_json[bu],
                    (now - spec.arrival).as_secs()
                ),
            );
        }
        ledger.charge(0, bu, Category::Human, cost);
        ledger.rows[0].calls += 1;
        ledger.rows[0].attempts += 1;
        working[team] = Some((spec, cost));
        q.schedule_in(SimTime::from_secs(hours * 3600.0), Ev::TeamFinished(team));
    };
    while let Some((now, ev)) = q.step() {
        match ev {
            Ev::TaskArrived => {
                let Some(spec) = next.take() else { continue };
                next = stream.next();
                if let Some(s) = next {
                    q.schedule(s.arrival, Ev::TaskArrived);
                }
                c.tasks += 1;
                let class = &sc.workload.classes[spec.class];
                ledger.bus[class.business_unit].tasks += 1;
                if let Some(tr) = trail.as_mut() {
                    tr.event(
                        now,
                        "task_arrived",
                        Some(spec.id),
                        format_args!(",\"class\":{}{}", json_str(&class.name), bu_json[class.business_unit]),
                    );
                }
                match free.pop() {
                    Some(team) => start(team, spec, &mut q, &mut rng, &mut ledger, &mut c, &mut working, &mut trail),
                    None => waiting.push_back(spec),
                }
            }
            Ev::TeamFinished(team) => {
                let Some((spec, cost)) = working[team].take() else { continue };
                let class = &sc.workload.classes[spec.class];
                let p = (h.error_rate * class.difficulty).min(1.0);
                let wrong = p > 0.0 && rng.random::<f64>() < p;
                let latency = now - spec.arrival;
                c.record_latency(latency);
                c.makespan = c.makespan.max(now);
                if wrong {
                    c.wrong += 1;
                    c.value -= class.wrong_penalty_usd;
                    ledger.rows[0].defects_introduced += 1;
                    ledger.rows[0].root_causes += 1;
                } else {
                    c.correct += 1;
                    c.value += class.value_usd;
                    ledger.bus[class.business_unit].correct += 1;
                }
                if class.deadline_s.is_none_or(|d| latency <= SimTime::from_secs(d)) {
                    c.sla_met += 1;
                }
                if let Some(tr) = trail.as_mut() {
                    tr.event(
                        now,
                        "task_finished",
                        Some(spec.id),
                        format_args!(
                            "{},\"outcome\":\"{}\",\"latency_s\":{},\"task_cost_usd\":\"{cost}\",\"root_cause\":{},\"systematic\":false",
                            bu_json[class.business_unit],
                            if wrong { "wrong" } else { "correct" },
                            latency.as_secs(),
                            if wrong { "\"work\"" } else { "null" }
                        ),
                    );
                }
                if opts.task_log {
                    rows.push(TaskRow {
                        task: spec.id,
                        class: spec.class,
                        arrival_s: spec.arrival.as_secs(),
                        finish_s: now.as_secs(),
                        outcome: if wrong { Outcome::Wrong } else { Outcome::Correct },
                        cost,
                        tokens_in: 0,
                        tokens_out: 0,
                        attempts: 1,
                        reworks: 0,
                        root_cause: if wrong { Some(0) } else { None },
                    });
                }
                match waiting.pop_front() {
                    Some(spec) => start(team, spec, &mut q, &mut rng, &mut ledger, &mut c, &mut working, &mut trail),
                    None => free.push(team),
                }
            }
        }
    }
    c.events = q.events_processed();
    WorldResult {
        ledger,
        counters: c,
        row_names: vec![("work".to_string(), "team".to_string())],
        task_rows: rows,
        trail: trail.map(TrailWriter::finish),
    }
}
