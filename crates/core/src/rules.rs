//! The channel rule pipeline of SPEC §2.5, in its fixed order, every step recorded.

use alloc::vec::Vec;

use crate::error::{Error, ErrorCode};
use crate::model::{Pooling, RuleOverrides, Rules};
use crate::plan::{Rule, RuleSource, Step};
use crate::qty::{self, Qty};

/// A channel's rules with one listing's overrides applied, each value with its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effective {
    pub buffer: (i64, RuleSource),
    pub end_when: (i64, RuleSource),
    pub percent: (i64, RuleSource),
    pub max_listed: (Option<i64>, RuleSource),
    pub pooling: Pooling,
}

pub(crate) fn effective(channel: &Rules, over: &RuleOverrides) -> Effective {
    fn pick(own: Option<Qty>, channel: Qty) -> (i64, RuleSource) {
        match own {
            Some(v) => (v.get(), RuleSource::Listing),
            None => (channel.get(), RuleSource::Channel),
        }
    }
    Effective {
        buffer: pick(over.buffer, channel.buffer),
        end_when: pick(over.end_when, channel.end_when),
        percent: pick(over.percent, channel.percent),
        max_listed: match over.max_listed {
            Some(v) => (Some(v.get()), RuleSource::Listing),
            None => (channel.max_listed.map(Qty::get), RuleSource::Channel),
        },
        pooling: over.bundle_pooling.unwrap_or(channel.bundle_pooling),
    }
}

/// Applies the pipeline to a pool. Returns the quantity to list and every step.
pub(crate) fn shape(pool: i64, rules: &Effective, pack: i64) -> (i64, Vec<Step>) {
    let mut steps = Vec::with_capacity(6);
    let mut q = pool;
    let mut step = |rule, value, source, after: i64, q: &mut i64| {
        steps.push(Step {
            rule,
            value,
            source,
            before: *q,
            after,
        });
        *q = after;
    };

    let (buffer, src) = rules.buffer;
    let after = qty::sub(q, buffer);
    step(Rule::Buffer, Some(buffer), src, after, &mut q);

    let (end_when, src) = rules.end_when;
    let after = if q <= end_when { 0 } else { q };
    step(Rule::EndWhen, Some(end_when), src, after, &mut q);

    // q > end_when ≥ 0 or q = 0 here, and |q| ≤ 2^53, so q × 100 cannot overflow.
    let (percent, src) = rules.percent;
    let after = (q * percent).div_euclid(100);
    step(Rule::Percent, Some(percent), src, after, &mut q);

    let after = q.div_euclid(pack.max(1));
    step(Rule::Pack, Some(pack), RuleSource::Listing, after, &mut q);

    let (max_listed, src) = rules.max_listed;
    let after = match max_listed {
        Some(m) => q.min(m),
        None => q,
    };
    step(Rule::MaxListed, max_listed, src, after, &mut q);

    let after = q.max(0);
    step(Rule::Clamp, None, RuleSource::Default, after, &mut q);

    debug_assert!(
        q >= 0 && q <= pool.max(0),
        "rules never list more than the pool"
    );
    (q, steps)
}

fn rule_err(msg: alloc::string::String) -> Error {
    Error::new(ErrorCode::InvalidRule, msg)
}

fn check_non_negative(v: Qty, name: &str) -> Result<(), Error> {
    if v.get() < 0 {
        return Err(rule_err(alloc::format!(
            "{name} must not be negative (got {v})"
        )));
    }
    Ok(())
}

fn check_percent(v: Qty) -> Result<(), Error> {
    if !(0..=100).contains(&v.get()) {
        return Err(rule_err(alloc::format!(
            "percent must be between 0 and 100 (got {v})"
        )));
    }
    Ok(())
}

pub(crate) fn validate(rules: &Rules) -> Result<(), Error> {
    check_non_negative(rules.buffer, "buffer")?;
    check_non_negative(rules.end_when, "end_when")?;
    check_percent(rules.percent)?;
    if let Some(m) = rules.max_listed {
        check_non_negative(m, "max_listed")?;
    }
    Ok(())
}

pub(crate) fn validate_overrides(over: &RuleOverrides) -> Result<(), Error> {
    if let Some(v) = over.buffer {
        check_non_negative(v, "buffer")?;
    }
    if let Some(v) = over.end_when {
        check_non_negative(v, "end_when")?;
    }
    if let Some(v) = over.percent {
        check_percent(v)?;
    }
    if let Some(v) = over.max_listed {
        check_non_negative(v, "max_listed")?;
    }
    Ok(())
}
