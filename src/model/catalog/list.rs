//! `orchsim models`: the catalog as a table or as CSV.

use super::{CatalogModel, PriceMap};
use crate::economics::money::PricePerMtok;
use crate::model::latency;
use crate::model::pricing::ServiceTier;

/// Which models to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this `litellm_provider` (case-insensitive).
    pub provider: Option<String>,
    /// Only names containing this text (case-insensitive).
    pub search: Option<String>,
}

impl Filter {
    fn keeps(&self, m: &CatalogModel) -> bool {
        self.provider.as_ref().is_none_or(|p| m.provider.eq_ignore_ascii_case(p))
            && self.search.as_ref().is_none_or(|s| m.name.to_ascii_lowercase().contains(&s.to_ascii_lowercase()))
    }
}

/// USD per million tokens, exact: micro-dollars per million printed as a decimal.
fn per_mtok(p: PricePerMtok) -> String {
    let (whole, frac) = (p.0 / 1_000_000, p.0 % 1_000_000);
    if frac == 0 { whole.to_string() } else { format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0')) }
}

fn opt(p: Option<PricePerMtok>) -> String {
    p.map(per_mtok).unwrap_or_default()
}

/// The CSV header.
pub const CSV_HEADER: &str = "model,provider,input_usd_per_mtok,output_usd_per_mtok,cache_read_usd_per_mtok,cache_write_usd_per_mtok,batch_input_usd_per_mtok,batch_output_usd_per_mtok,max_input_tokens,source";

/// The CSV listing: one row per model, empty where the map has nothing.
pub fn csv(map: &PriceMap, filter: &Filter) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER.split(','));
    for m in map.models.iter().filter(|m| filter.keeps(m)) {
        let base = m.pricing.tiers.get(&ServiceTier::Standard).and_then(|b| b.first()).map(|b| b.rates);
        let batch = m.pricing.tiers.get(&ServiceTier::Batch).and_then(|b| b.first()).map(|b| b.rates);
        let _ = w.write_record([
            m.name.clone(),
            m.provider.clone(),
            opt(base.map(|r| r.input)),
            opt(base.map(|r| r.output)),
            opt(base.and_then(|r| r.cache_read)),
            opt(base.and_then(|r| r.cache_write)),
            opt(batch.map(|r| r.input)),
            opt(batch.map(|r| r.output)),
            m.max_input_tokens.map(|t| t.to_string()).unwrap_or_default(),
            m.source.clone().unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `orchsim models`: the listing of the built-in map, or of `prices`.
pub fn command(
    prices: Option<&std::path::Path>,
    provider: Option<String>,
    search: Option<String>,
    as_csv: bool,
) -> crate::error::Result<String> {
    let map = super::resolve(prices)?;
    let filter = Filter { provider, search };
    Ok(if as_csv { csv(&map, &filter) } else { table(&map, &filter) })
}

/// The human-readable listing.
pub fn table(map: &PriceMap, filter: &Filter) -> String {
    let mut s = format!("price map: {} (sha256 {})\n", map.label, &map.sha256[..16.min(map.sha256.len())]);
    s.push_str(&format!(
        "{:<44} {:<18} {:>9} {:>10} {:>9} {:>9}  {:<22} {:>9} {:>7} {:>6}  {}\n",
        "model", "provider", "in $/Mtok", "out $/Mtok", "cache rd", "cache wr", "tiers", "max in", "ttft s", "tok/s", "latency source"
    ));
    let mut n = 0;
    for m in map.models.iter().filter(|m| filter.keeps(m)) {
        n += 1;
        let base = m.pricing.tiers.get(&ServiceTier::Standard).and_then(|b| b.first()).map(|b| b.rates);
        let dash = |x: String| if x.is_empty() { "-".to_string() } else { x };
        let mut tiers: Vec<&str> = m.pricing.offered().iter().filter(|t| **t != ServiceTier::Standard).map(|t| t.name()).collect();
        if m.pricing.tiers.values().any(|b| b.len() > 1) {
            tiers.push("long-ctx");
        }
        let lat = latency::table().profile(&m.name, m.reasoning);
        let lat_src = if lat.is_assumption() { "assumption".to_string() } else { format!("{} ({})", lat.source, lat.date) };
        s.push_str(&format!(
            "{:<44} {:<18} {:>9} {:>10} {:>9} {:>9}  {:<22} {:>9} {:>7} {:>6}  {}{}\n",
            m.name,
            m.provider,
            dash(opt(base.map(|r| r.input))),
            dash(opt(base.map(|r| r.output))),
            dash(opt(base.and_then(|r| r.cache_read))),
            dash(opt(base.and_then(|r| r.cache_write))),
            if tiers.is_empty() { "-".to_string() } else { tiers.join(",") },
            m.max_input_tokens.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
            lat.ttft.median,
            lat.tokens_per_s.median,
            lat_src,
            if m.rounded { "  [a price rounded to $0.000001/Mtok]" } else { "" },
        ));
    }
    s.push_str(&format!("{n} models\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::builtin;

    #[test]
    fn exact_prices_per_million() {
        assert_eq!(per_mtok(PricePerMtok(2_500_000)), "2.5");
        assert_eq!(per_mtok(PricePerMtok(10_000_000)), "10");
        assert_eq!(per_mtok(PricePerMtok(275_000)), "0.275");
        assert_eq!(per_mtok(PricePerMtok(1)), "0.000001");
        assert_eq!(per_mtok(PricePerMtok(0)), "0");
    }

    #[test]
    fn csv_lists_every_chat_model_at_its_price() {
        let map = builtin();
        let out = csv(&map, &Filter::default());
        let mut r = csv::Reader::from_reader(out.as_bytes());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>().join(","), CSV_HEADER);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), 3_676);
        let g = rows.iter().find(|r| &r[0] == "gpt-4o").unwrap();
        assert_eq!(
            g.iter().collect::<Vec<_>>(),
            ["gpt-4o", "openai", "2.5", "10", "1.25", "", "1.25", "5", "128000", "https://developers.openai.com/api/docs/pricing"]
        );
        let c = rows.iter().find(|r| &r[0] == "claude-sonnet-4-5").unwrap();
        assert_eq!((&c[4], &c[5], &c[6]), ("0.3", "3.75", "1.5"));
    }

    #[test]
    fn filters_by_provider_and_text() {
        let map = builtin();
        let f = Filter { provider: Some("Anthropic".into()), search: Some("SONNET".into()) };
        let out = csv(&map, &f);
        let names: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert!(names.contains(&"claude-sonnet-4-5"));
        assert!(names.iter().all(|n| n.contains("sonnet")));
        assert!(!names.iter().any(|n| n.starts_with("vertex_ai/")), "another provider");
        let t = table(&map, &Filter { provider: Some("openai".into()), search: Some("gpt-4o-2024-08-06".into()) });
        assert!(
            t.contains("gpt-4o-2024-08-06")
                && t.contains("batch,priority")
                && t.ends_with("2 models\n")
                && t.contains("ft:gpt-4o-2024-08-06"),
            "{t}"
        );
    }
}
