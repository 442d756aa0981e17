//! The ledger: every charge is attributed to a row (step or pseudo-step), a business
//! unit and a category at the moment it is made, so the breakdowns add up to the total
//! by construction (integer pico-dollars, no rounding after the charge).

use super::money::Usd;

/// What a charge pays for. `orchestration` is orchestrator calls plus handoff tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Tokens and request fees of the agents' own work.
    Model,
    /// Tool-call fees.
    Tool,
    /// Orchestrator calls and handoff tokens: the coordination overhead in tokens.
    Orchestration,
    /// The orchestration platform's fees.
    Platform,
    /// People: human teams and escalations.
    Human,
}

/// Counters of one ledger row (a step, the orchestrator, the platform, escalation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowStats {
    /// Logical calls (step executions, one per replica).
    pub calls: u64,
    /// Attempts, retries included.
    pub attempts: u64,
    /// Attempts that ended in a transient error or a timeout.
    pub failed_attempts: u64,
    /// Billed input tokens.
    pub tokens_in: u64,
    /// Billed output tokens.
    pub tokens_out: u64,
    /// Everything charged to this row.
    pub cost: Usd,
    /// Times this row put a defect into a task.
    pub defects_introduced: u64,
    /// Times this row (a reviewer) flagged a task that carried a defect.
    pub defects_caught: u64,
    /// Wrong or failed tasks whose root cause is this row.
    pub root_causes: u64,
    /// Of those, how many were systematic faults.
    pub systematic_root_causes: u64,
}

/// Counters of one business unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuStats {
    /// Tasks that arrived.
    pub tasks: u64,
    /// Tasks delivered correct.
    pub correct: u64,
    /// Everything charged to this unit.
    pub cost: Usd,
}

/// The cost ledger of one world (one strategy in one replication).
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Per row.
    pub rows: Vec<RowStats>,
    /// Per business unit.
    pub bus: Vec<BuStats>,
    /// Per category: model, tool, orchestration, platform, human.
    pub by_category: [Usd; 5],
    /// Total of all charges.
    pub total: Usd,
}

impl Ledger {
    /// A ledger with `rows` rows and `bus` business units.
    pub fn new(rows: usize, bus: usize) -> Ledger {
        Ledger { rows: vec![RowStats::default(); rows], bus: vec![BuStats::default(); bus], by_category: [Usd::ZERO; 5], total: Usd::ZERO }
    }

    /// Records a charge. The only way money enters the ledger.
    #[inline]
    pub fn charge(&mut self, row: usize, bu: usize, cat: Category, amount: Usd) {
        self.rows[row].cost += amount;
        self.bus[bu].cost += amount;
        self.by_category[cat as usize] += amount;
        self.total += amount;
    }

    /// Category total.
    pub fn category(&self, cat: Category) -> Usd {
        self.by_category[cat as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Charges land on their row, their business unit, their category and the total,
    /// and nowhere else.
    #[test]
    fn a_charge_lands_in_each_breakdown_once() {
        let mut l = Ledger::new(3, 2);
        l.charge(0, 1, Category::Model, Usd(7));
        l.charge(2, 0, Category::Human, Usd(100));
        l.charge(2, 1, Category::Platform, Usd(-3));
        l.charge(1, 1, Category::Orchestration, Usd(20));
        l.charge(1, 0, Category::Tool, Usd(5));
        assert_eq!(l.rows.iter().map(|r| r.cost).collect::<Vec<_>>(), [Usd(7), Usd(25), Usd(97)]);
        assert_eq!(l.bus.iter().map(|b| b.cost).collect::<Vec<_>>(), [Usd(105), Usd(24)]);
        assert_eq!(l.by_category, [Usd(7), Usd(5), Usd(20), Usd(-3), Usd(100)]);
        assert_eq!(l.total, Usd(129));
        let cats = [Category::Model, Category::Tool, Category::Orchestration, Category::Platform, Category::Human];
        assert_eq!(cats.map(|c| l.category(c)), l.by_category);
        assert_eq!((l.rows[0].calls, l.bus[0].tasks), (0, 0));
    }
}
