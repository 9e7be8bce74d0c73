//! Retention policies: data classes, plan tiers, tenant settings, exceptions and legal holds, and
//! the pure decision of whether one record may be deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use palisade_core::TenantId;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// How long records of a class are kept after they end: a whole number of hours or days, or
/// nothing at all ("do not store").
///
/// Written `"12h"`, `"30d"` or `"do_not_store"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// Keep nothing: a record may go as soon as it ends.
    DoNotStore,
    /// Keep for this many hours after the record ends.
    Hours(u32),
}

impl Period {
    /// The largest accepted period: 100 years.
    pub const MAX_HOURS: u32 = 24 * 366 * 100;

    /// A period of `days` days.
    pub const fn days(days: u32) -> Self {
        Period::Hours(days.saturating_mul(24))
    }

    /// The period as a duration (zero for "do not store").
    pub fn duration(self) -> Duration {
        match self {
            Period::DoNotStore => Duration::ZERO,
            Period::Hours(h) => Duration::hours(i64::from(h)),
        }
    }

    fn hours(self) -> u32 {
        match self {
            Period::DoNotStore => 0,
            Period::Hours(h) => h,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::DoNotStore => f.write_str("do_not_store"),
            Period::Hours(h) if h % 24 == 0 => write!(f, "{}d", h / 24),
            Period::Hours(h) => write!(f, "{h}h"),
        }
    }
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidPeriod(s.to_owned());
        if s == "do_not_store" {
            return Ok(Period::DoNotStore);
        }
        let (num, mult) = if let Some(n) = s.strip_suffix('h') {
            (n, 1u32)
        } else if let Some(n) = s.strip_suffix('d') {
            (n, 24u32)
        } else {
            return Err(bad());
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = num.parse().map_err(|_| bad())?;
        let hours = n.checked_mul(mult).ok_or_else(bad)?;
        if hours == 0 || hours > Self::MAX_HOURS {
            return Err(bad());
        }
        Ok(Period::Hours(hours))
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a plan allows for one data class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBounds {
    /// The period when the tenant sets nothing.
    pub default: Period,
    /// The shortest period a tenant may choose (`do_not_store` allows "do not store").
    pub min: Period,
    /// The longest period a tenant may choose.
    pub max: Period,
}

/// A tenant's retention settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The tenant's plan.
    pub plan: String,
    /// Periods the tenant chose, by class; classes left out use the plan's default.
    #[serde(default)]
    pub periods: BTreeMap<String, Period>,
}

/// Records still needed (failed jobs awaiting re-run, long-running transactions) are kept past
/// their period, but never past this hard maximum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// The hard maximum, counted from the record's end (from its start while it still runs).
    pub hard_max: Period,
}

/// A legal hold: suspends deletion of the records it selects until released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHold {
    /// The hold's identifier (a case number).
    pub id: String,
    /// The tenant whose records are held.
    pub tenant: TenantId,
    /// Only this class (all classes when absent).
    #[serde(default)]
    pub class: Option<String>,
    /// Only these record ids (all records when absent).
    #[serde(default)]
    pub records: Option<BTreeSet<String>>,
    /// Who placed the hold.
    pub placed_by: String,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// When it was released; the hold is active until then.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
    /// Who released it.
    #[serde(default)]
    pub released_by: Option<String>,
}

impl LegalHold {
    /// Whether the hold still suspends deletion at `now`.
    pub fn active_at(&self, now: OffsetDateTime) -> bool {
        self.released_at.is_none_or(|r| r > now)
    }

    /// Whether the hold covers every record of `tenant`/`class` (not only a record list).
    pub fn covers_scope(&self, tenant: &TenantId, class: &str) -> bool {
        &self.tenant == tenant && self.class.as_deref().is_none_or(|c| c == class)
    }

    /// Whether the hold selects this record.
    pub fn selects(&self, tenant: &TenantId, class: &str, record_id: &str) -> bool {
        self.covers_scope(tenant, class) && self.records.as_ref().is_none_or(|r| r.contains(record_id))
    }
}

/// A complete retention policy. Loads from TOML or JSON; see the crate README for the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The data classes the host names.
    pub classes: BTreeSet<String>,
    /// Plan tiers: per class, default and bounds.
    pub plans: BTreeMap<String, BTreeMap<String, ClassBounds>>,
    /// The plan of tenants not listed in `tenants`; when absent their records are kept.
    #[serde(default)]
    pub default_plan: Option<String>,
    /// Tenant settings.
    #[serde(default)]
    pub tenants: BTreeMap<TenantId, TenantSettings>,
    /// Exceptions per class for records still needed.
    #[serde(default)]
    pub exceptions: BTreeMap<String, Exception>,
    /// Legal holds (released ones may stay listed as history).
    #[serde(default)]
    pub holds: Vec<LegalHold>,
}

/// A record as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta<'a> {
    /// Owner.
    pub tenant: &'a TenantId,
    /// Data class.
    pub class: &'a str,
    /// The record's id (matched against hold record lists).
    pub id: &'a str,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it ended; `None` while it runs.
    pub ended_at: Option<OffsetDateTime>,
    /// Still needed (failed job awaiting re-run, long transaction).
    pub needed: bool,
}

/// Why a record is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum KeepReason {
    /// No plan applies to the tenant, or the class is not in its plan.
    NoPolicy,
    /// Under a legal hold.
    Held {
        /// The hold.
        hold: String,
    },
    /// Still within its period.
    NotExpired,
    /// Still running (its clock has not started).
    Running,
    /// Still needed and within the hard maximum.
    Needed,
}

/// The decision for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The record may be deleted.
    Delete,
    /// The record must be kept.
    Keep(KeepReason),
}

/// A change of effective period that a plan change would cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clamp {
    /// The tenant.
    pub tenant: TenantId,
    /// The class.
    pub class: String,
    /// The period before.
    pub from: Period,
    /// The period after.
    pub to: Period,
    /// True when the new period is shorter: data will be deleted sooner.
    pub shortens: bool,
}

impl Policy {
    /// Parses a policy from TOML text and validates it.
    pub fn from_toml(text: &str) -> Result<Self> {
        let p: Policy = toml::from_str(text)
            .map_err(|e| Error::PolicyFile { path: "<toml>".into(), message: e.to_string() })?;
        p.validate()?;
        Ok(p)
    }

    /// Parses a policy from JSON text and validates it.
    pub fn from_json(text: &str) -> Result<Self> {
        let p: Policy = serde_json::from_str(text)
            .map_err(|e| Error::PolicyFile { path: "<json>".into(), message: e.to_string() })?;
        p.validate()?;
        Ok(p)
    }

    /// Loads a policy file: JSON when the name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::PolicyFile { path: shown.clone(), message: e.to_string() })?;
        let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if json { Self::from_json(&text) } else { Self::from_toml(&text) };
        parsed.map_err(|e| match e {
            Error::PolicyFile { message, .. } => Error::PolicyFile { path: shown, message },
            other => other,
        })
    }

    /// Checks the policy, returning every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.classes.is_empty() {
            problems.push("no data classes: list them in `classes`".to_owned());
        }
        if self.plans.is_empty() {
            problems.push("no plans: define at least one in `plans`".to_owned());
        }
        for (plan, classes) in &self.plans {
            for (class, b) in classes {
                if !self.classes.contains(class) {
                    problems.push(format!("plan {plan}: unknown class {class:?} (add it to `classes`)"));
                }
                if b.min > b.max {
                    problems
                        .push(format!("plan {plan}, class {class}: min {} is above max {}", b.min, b.max));
                }
                if b.default < b.min || b.default > b.max {
                    problems.push(format!(
                        "plan {plan}, class {class}: default {} is outside {}..={}",
                        b.default, b.min, b.max
                    ));
                }
            }
        }
        if let Some(d) = &self.default_plan
            && !self.plans.contains_key(d)
        {
            problems.push(format!("default_plan {d:?} is not a defined plan"));
        }
        for (tenant, s) in &self.tenants {
            let Some(plan) = self.plans.get(&s.plan) else {
                problems.push(format!("tenant {tenant}: unknown plan {:?}", s.plan));
                continue;
            };
            for (class, p) in &s.periods {
                match plan.get(class) {
                    None => {
                        problems.push(format!("tenant {tenant}: class {class:?} is not in plan {}", s.plan))
                    }
                    Some(b) if *p < b.min || *p > b.max => problems.push(format!(
                        "tenant {tenant}: {class} period {p} is outside plan {}'s bounds {}..={}",
                        s.plan, b.min, b.max
                    )),
                    Some(_) => {}
                }
            }
        }
        for (class, e) in &self.exceptions {
            if !self.classes.contains(class) {
                problems.push(format!("exceptions: unknown class {class:?}"));
            }
            if e.hard_max == Period::DoNotStore {
                problems.push(format!("exceptions.{class}: hard_max must be a period, not do_not_store"));
            }
        }
        let mut ids = BTreeSet::new();
        for h in &self.holds {
            if h.id.trim().is_empty() || h.placed_by.trim().is_empty() || h.reason.trim().is_empty() {
                problems.push(format!("hold {:?}: id, placed_by and reason must not be empty", h.id));
            }
            if !ids.insert(h.id.as_str()) {
                problems.push(format!("hold {:?} is listed twice", h.id));
            }
            if let Some(c) = &h.class
                && !self.classes.contains(c)
            {
                problems.push(format!("hold {}: unknown class {c:?}", h.id));
            }
            if h.released_at.is_some_and(|r| r < h.placed_at) {
                problems.push(format!("hold {}: released before it was placed", h.id));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::InvalidPolicy(problems)) }
    }

    fn plan_of(&self, tenant: &TenantId) -> Option<&str> {
        match self.tenants.get(tenant) {
            Some(s) => Some(&s.plan),
            None => self.default_plan.as_deref(),
        }
    }

    /// The period that applies to `tenant`'s records of `class` (clamped to the plan's bounds),
    /// or `None` when no plan covers them (their records are then kept).
    pub fn effective_period(&self, tenant: &TenantId, class: &str) -> Option<Period> {
        let plan_name = self.plan_of(tenant)?;
        let b = self.plans.get(plan_name)?.get(class)?;
        let chosen =
            self.tenants.get(tenant).and_then(|s| s.periods.get(class)).copied().unwrap_or(b.default);
        Some(chosen.clamp(b.min, b.max))
    }

    /// Sets a tenant's period for a class after checking it against the tenant's plan.
    pub fn set_tenant_period(&mut self, tenant: &TenantId, class: &str, period: Period) -> Result<()> {
        let plan_name = self.plan_of(tenant).map(str::to_owned).ok_or_else(|| Error::Unknown {
            kind: "tenant",
            name: tenant.to_string(),
            hint: "give the tenant a plan (or set default_plan) first",
        })?;
        let b = self.plans.get(&plan_name).and_then(|p| p.get(class)).ok_or_else(|| Error::Unknown {
            kind: "class",
            name: class.to_owned(),
            hint: "the tenant's plan does not cover this class",
        })?;
        if period < b.min || period > b.max {
            return Err(Error::OutOfBounds(Box::new(crate::error::BoundsError {
                tenant: tenant.to_string(),
                class: class.to_owned(),
                plan: plan_name,
                requested: period.to_string(),
                min: b.min.to_string(),
                max: b.max.to_string(),
            })));
        }
        self.tenants
            .entry(tenant.clone())
            .or_insert_with(|| TenantSettings { plan: plan_name, periods: BTreeMap::new() })
            .periods
            .insert(class.to_owned(), period);
        Ok(())
    }

    /// Reports, before anything changes, how moving `tenant` to `new_plan` changes its effective
    /// periods (clamped settings, new defaults). Apply with [`Policy::change_plan`].
    pub fn preview_plan_change(&self, tenant: &TenantId, new_plan: &str) -> Result<Vec<Clamp>> {
        let mut after = self.clone();
        after.apply_plan(tenant, new_plan)?;
        let mut out = Vec::new();
        for class in &self.classes {
            let from = self.effective_period(tenant, class);
            let to = after.effective_period(tenant, class);
            if let (Some(from), Some(to)) = (from, to)
                && from != to
            {
                out.push(Clamp {
                    tenant: tenant.clone(),
                    class: class.clone(),
                    from,
                    to,
                    shortens: to < from,
                });
            }
        }
        Ok(out)
    }

    /// Moves `tenant` to `new_plan`, clamping its settings into the new bounds; returns the
    /// changes (the same as [`Policy::preview_plan_change`] reported).
    pub fn change_plan(&mut self, tenant: &TenantId, new_plan: &str) -> Result<Vec<Clamp>> {
        let report = self.preview_plan_change(tenant, new_plan)?;
        self.apply_plan(tenant, new_plan)?;
        Ok(report)
    }

    fn apply_plan(&mut self, tenant: &TenantId, new_plan: &str) -> Result<()> {
        let plan = self.plans.get(new_plan).ok_or_else(|| Error::Unknown {
            kind: "plan",
            name: new_plan.to_owned(),
            hint: "define it under `plans`",
        })?;
        let plan = plan.clone();
        let s = self
            .tenants
            .entry(tenant.clone())
            .or_insert_with(|| TenantSettings { plan: new_plan.to_owned(), periods: BTreeMap::new() });
        s.plan = new_plan.to_owned();
        s.periods.retain(|class, _| plan.contains_key(class));
        for (class, p) in s.periods.iter_mut() {
            if let Some(b) = plan.get(class) {
                *p = (*p).clamp(b.min, b.max);
            }
        }
        Ok(())
    }

    /// The first active hold covering every record of `tenant`/`class`, if any.
    pub fn scope_hold(&self, tenant: &TenantId, class: &str, now: OffsetDateTime) -> Option<&LegalHold> {
        self.holds.iter().find(|h| h.active_at(now) && h.records.is_none() && h.covers_scope(tenant, class))
    }

    /// Whether any active hold (scope-wide or per record) touches `tenant`/`class`.
    pub fn any_hold(&self, tenant: &TenantId, class: &str, now: OffsetDateTime) -> bool {
        self.holds.iter().any(|h| h.active_at(now) && h.covers_scope(tenant, class))
    }

    /// The hard maximum for needed records of `class`, if configured.
    pub fn hard_max(&self, class: &str) -> Option<Period> {
        self.exceptions.get(class).map(|e| e.hard_max)
    }

    /// Decides whether one record may be deleted at `now`.
    ///
    /// A record is deleted only when a plan covers it, no active hold selects it, it has ended and
    /// at least its period has passed since it ended; a needed record additionally waits for the
    /// class's hard maximum (a running one, for the hard maximum since it started; without a
    /// configured hard maximum, running records are never deleted and `needed` extends nothing).
    pub fn decide(&self, r: &RecordMeta<'_>, now: OffsetDateTime) -> Decision {
        let Some(period) = self.effective_period(r.tenant, r.class) else {
            return Decision::Keep(KeepReason::NoPolicy);
        };
        if let Some(h) = self.holds.iter().find(|h| h.active_at(now) && h.selects(r.tenant, r.class, r.id)) {
            return Decision::Keep(KeepReason::Held { hold: h.id.clone() });
        }
        let hard_max = self.hard_max(r.class);
        let Some(ended) = r.ended_at else {
            return match hard_max {
                Some(m) if now - r.started_at >= m.duration() => Decision::Delete,
                _ => Decision::Keep(KeepReason::Running),
            };
        };
        let age = now - ended;
        if age < period.duration() {
            return Decision::Keep(KeepReason::NotExpired);
        }
        if r.needed
            && let Some(m) = hard_max
            && age < m.duration()
        {
            return Decision::Keep(KeepReason::Needed);
        }
        Decision::Delete
    }

    /// The latest end time a record may have and still be deleted now (`now` minus the period);
    /// `None` when no plan covers the scope.
    pub fn cutoff(&self, tenant: &TenantId, class: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.effective_period(tenant, class).map(|p| now - p.duration())
    }

    /// The hours of the effective period, for reports.
    pub fn period_hours(&self, tenant: &TenantId, class: &str) -> Option<u32> {
        self.effective_period(tenant, class).map(Period::hours)
    }
}
