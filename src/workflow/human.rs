//! The world of a human strategy: `teams` teams work tasks FIFO; each task takes
//! `hours_per_task` of every team member's time.

use std::collections::VecDeque;

use rand_distr::{Distribution, StandardNormal};

use super::draws::{Draw, Draws};
use super::event::{Event, Observer};
use super::{Outcome, TaskRow, TaskSpec, TaskStream, WorldOptions, WorldResult, tally};
use crate::economics::ledger::{Category, Ledger};
use crate::economics::metrics::Counters;
use crate::economics::money::Usd;
use crate::engine::{EventQueue, SimTime};
use crate::model::quality::{Loading, Threshold, is_wrong};
use crate::model::{HumanStrategy, Scenario};

/// Events of a human world.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The next task arrived (spec in `next`).
    TaskArrived,
    /// A team finished the task it was working on (index into `working`).
    TeamFinished(usize),
}

/// The step key of a team's draws ("work").
const WORK: u64 = 0x776f_726b;

/// A human strategy's world.
struct World<'a, O: Observer> {
    sc: &'a Scenario,
    h: &'a HumanStrategy,
    stream: TaskStream,
    next: Option<TaskSpec>,
    draws: Draws,
    /// Per class: the teams' error threshold (`error_rate × difficulty`) and loading.
    quality: Vec<(Threshold, Loading)>,
    opts: WorldOptions,
    /// Receives the world's events (the trail with `--audit`).
    obs: O,
    q: EventQueue<Ev>,
    ledger: Ledger,
    c: Counters,
    rows: Vec<TaskRow>,
    /// Tasks waiting for a team, FIFO.
    waiting: VecDeque<TaskSpec>,
    /// Per team: the task it works on and what that costs.
    working: Vec<Option<(TaskSpec, Usd)>>,
    /// Idle teams (the lowest number is taken first).
    free: Vec<usize>,
}

/// Runs a human strategy's world; returns its results and its observer.
pub(crate) fn run<O: Observer>(
    sc: &Scenario,
    h: &HumanStrategy,
    stream: TaskStream,
    draws: Draws,
    opts: WorldOptions,
    obs: O,
) -> (WorldResult, O) {
    let teams = h.teams as usize;
    let mut w = World {
        sc,
        h,
        stream,
        next: None,
        draws,
        quality: sc
            .workload
            .classes
            .iter()
            .map(|c| (Threshold::new((h.error_rate * c.difficulty).min(1.0)), Loading::new(c.error_correlation)))
            .collect(),
        opts,
        obs,
        q: EventQueue::with_capacity(1024),
        ledger: Ledger::new(1, sc.business_units.len()),
        c: Counters::default(),
        rows: Vec::new(),
        waiting: VecDeque::new(),
        working: vec![None; teams],
        free: (0..teams).rev().collect(),
    };
    w.next = w.stream.next();
    if let Some(s) = w.next {
        w.q.schedule(s.arrival, Ev::TaskArrived);
    }
    while let Some((_, ev)) = w.q.step() {
        match ev {
            Ev::TaskArrived => w.on_task_arrived(),
            Ev::TeamFinished(team) => w.on_team_finished(team),
        }
    }
    w.c.events = w.q.events_processed();
    let result = WorldResult {
        ledger: w.ledger,
        counters: w.c,
        row_names: vec![("work".to_string(), "team".to_string())],
        task_rows: w.rows,
        trail: None,
    };
    (result, w.obs)
}

impl<O: Observer> World<'_, O> {
    fn on_task_arrived(&mut self) {
        let Some(spec) = self.next.take() else { return };
        self.next = self.stream.next();
        if let Some(s) = self.next {
            self.q.schedule(s.arrival, Ev::TaskArrived);
        }
        self.c.tasks += 1;
        let class = &self.sc.workload.classes[spec.class];
        self.ledger.bus[class.business_unit].tasks += 1;
        if O::ENABLED {
            let bu = &self.sc.business_units[class.business_unit];
            let event = Event::TaskArrived { task: spec.id, class: class.name.as_str().into(), bu: bu.as_str().into() };
            self.obs.event(self.q.now(), &event);
        }
        match self.free.pop() {
            Some(team) => self.start(team, spec),
            None => self.waiting.push_back(spec),
        }
    }

    /// A team takes a task: each member works the task's hours, charged at once and
    /// rounded once to the pico-dollar.
    fn start(&mut self, team: usize, spec: TaskSpec) {
        let now = self.q.now();
        self.c.record_wait(now - spec.arrival);
        let h = self.h;
        let hours = h.hours_per_task.sample(&mut self.draws.people(spec.id, WORK, Draw::Hours));
        let cost = Usd::from_f64(hours * h.usd_per_hour * h.team_size as f64);
        let bu = self.sc.workload.classes[spec.class].business_unit;
        if O::ENABLED {
            let event = Event::WorkStarted {
                task: spec.id,
                bu: self.sc.business_units[bu].as_str().into(),
                step: "work".into(),
                agent: "team".into(),
                wait_s: (now - spec.arrival).as_secs(),
                hours,
                cost_usd: cost,
            };
            self.obs.event(now, &event);
        }
        self.ledger.charge(0, bu, Category::Human, cost);
        self.ledger.rows[0].calls += 1;
        self.ledger.rows[0].attempts += 1;
        self.working[team] = Some((spec, cost));
        self.q.schedule_in(SimTime::from_secs(hours * 3600.0), Ev::TeamFinished(team));
    }

    fn on_team_finished(&mut self, team: usize) {
        let Some((spec, cost)) = self.working[team].take() else { return };
        let now = self.q.now();
        let class = &self.sc.workload.classes[spec.class];
        // The teams err by the quality model's rule, on the task's latent difficulty.
        let (threshold, loading) = self.quality[spec.class];
        let wrong = threshold.value() > f64::NEG_INFINITY && {
            let z = if loading.common == 0.0 { 0.0 } else { self.draws.latent(spec.id) };
            let eps = StandardNormal.sample(&mut self.draws.people(spec.id, WORK, Draw::Correct));
            is_wrong(threshold, loading, z, eps)
        };
        let latency = now - spec.arrival;
        tally(&mut self.c, &mut self.ledger.bus[class.business_unit], class, spec.arrival, now, Some(!wrong));
        if wrong {
            self.ledger.rows[0].defects_introduced += 1;
            self.ledger.rows[0].root_causes += 1;
        }
        if O::ENABLED {
            let event = Event::TaskFinished {
                task: spec.id,
                bu: self.sc.business_units[class.business_unit].as_str().into(),
                outcome: if wrong { Outcome::Wrong } else { Outcome::Correct },
                latency_s: latency.as_secs(),
                task_cost_usd: cost,
                root_cause: wrong.then(|| "work".into()),
                systematic: false,
            };
            self.obs.event(now, &event);
        }
        if self.opts.task_log {
            self.rows.push(TaskRow {
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
        match self.waiting.pop_front() {
            Some(spec) => self.start(team, spec),
            None => self.free.push(team),
        }
    }
}
