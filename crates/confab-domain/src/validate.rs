//! Input checks shared by every operation. Each names the parameter it refuses, as the REST
//! API spells it, so that a caller of either door learns exactly what to fix.

use confab_protocol::sid::{Sid, SidKind, is_sid};

use crate::error::{DomainError, DomainResult};

/// A name of at most `max` characters, without control characters.
pub(crate) fn name(field: &str, s: &str, max: usize) -> DomainResult<()> {
    if s.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// A unique name: a name that cannot be mistaken for a conversation SID.
pub(crate) fn unique_name(field: &str, s: &str, max: usize) -> DomainResult<()> {
    name(field, s, max)?;
    if s.is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be empty")));
    }
    if is_sid(SidKind::Conversation, s) {
        return Err(DomainError::invalid(format!(
            "{field} must not have the form of a conversation SID"
        )));
    }
    Ok(())
}

/// An identity: non-empty, at most `max` characters, no control characters.
/// Must not have the form of a participant SID: participants are looked up by SID or
/// identity, and the two must never be confused.
pub(crate) fn identity(field: &str, s: &str, max: usize) -> DomainResult<()> {
    if s.is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be empty")));
    }
    // Participants and users are found by SID or identity: an identity shaped like one of
    // their SIDs would make those lookups ambiguous.
    if is_sid(SidKind::Participant, s) || is_sid(SidKind::User, s) {
        return Err(DomainError::invalid(format!(
            "{field} must not have the form of a participant or user SID"
        )));
    }
    name(field, s, max)
}

/// A SID, name or identity used to look something up: one holding a NUL character cannot
/// name anything (no stored text holds one), so it is not found, without asking the store
/// (PostgreSQL refuses such text outright).
pub(crate) fn lookup_key(key: &str, what: &str) -> DomainResult<()> {
    if key.contains('\0') {
        Err(DomainError::not_found(format!(
            "{what} {}",
            key.escape_debug()
        )))
    } else {
        Ok(())
    }
}

/// Free text (a message body): anything but the NUL character, which no database text holds.
pub(crate) fn text(field: &str, s: &str) -> DomainResult<()> {
    if s.contains('\0') {
        return Err(DomainError::invalid(format!(
            "{field} must not contain the NUL character"
        )));
    }
    Ok(())
}

/// Attributes: valid JSON text of at most `max` bytes.
pub(crate) fn attributes(field: &str, s: &str, max: usize) -> DomainResult<()> {
    if s.len() > max {
        return Err(DomainError::invalid(format!(
            "{field} is larger than {max} bytes"
        )));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(s)
        .map_err(|e| DomainError::invalid(format!("{field} must be valid JSON: {e}")))?;
    Ok(())
}

/// A SID of `kind`.
pub(crate) fn sid_param(field: &str, kind: SidKind, s: &str) -> DomainResult<Sid> {
    Sid::parse(kind, s).ok_or_else(|| {
        DomainError::invalid(format!(
            "{field} must be a {} SID ({}{})",
            kind.prefix(),
            kind.prefix(),
            " and 32 hex digits"
        ))
    })
}

/// A messaging service SID (`MG` and 32 hex digits), kept as given.
pub(crate) fn messaging_service_sid(field: &str, s: &str) -> DomainResult<()> {
    let ok =
        s.len() == 34 && s.starts_with("MG") && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit);
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(format!("{field} must be an MG SID")))
    }
}

/// An ISO 8601 duration (`P1D`, `PT10M`, `P1DT2H30M5S`, `P2W`) of at least `min_secs`;
/// returns its length in seconds.
pub(crate) fn duration(field: &str, s: &str, min_secs: i64) -> DomainResult<i64> {
    let bad = || {
        DomainError::invalid(format!(
            "{field} must be an ISO 8601 duration such as PT10M"
        ))
    };
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut parts = 0;
    let mut add = |text: &str, units: &[(char, i64)]| -> DomainResult<()> {
        let mut num = String::new();
        let mut allowed = units.iter();
        for ch in text.chars() {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            // Units must come in order, each at most once.
            let secs = allowed
                .by_ref()
                .find(|(u, _)| *u == ch)
                .map(|(_, s)| *s)
                .ok_or_else(bad)?;
            let n: i64 = num.parse().map_err(|_| bad())?;
            total = total
                .checked_add(n.checked_mul(secs).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            num.clear();
            parts += 1;
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    add(
        date,
        &[
            ('Y', 365 * 86_400),
            ('M', 30 * 86_400),
            ('W', 7 * 86_400),
            ('D', 86_400),
        ],
    )?;
    if let Some(t) = time {
        add(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    if parts == 0 {
        return Err(bad());
    }
    if total < min_secs {
        return Err(DomainError::invalid(format!(
            "{field} must be at least {min_secs} seconds"
        )));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_refused() {
        assert_eq!(duration("T", "PT10M", 0).unwrap(), 600);
        assert_eq!(
            duration("T", "P1DT2H30M5S", 0).unwrap(),
            86_400 + 2 * 3600 + 30 * 60 + 5
        );
        assert_eq!(duration("T", "P2W", 0).unwrap(), 14 * 86_400);
        for bad in [
            "",
            "P",
            "PT",
            "10M",
            "PT10",
            "PTM",
            "PT5M10H",
            "P1H",
            "PT99999999999999999999S",
            "PT1.5S",
        ] {
            assert!(duration("T", bad, 0).is_err(), "{bad}");
        }
        assert!(duration("T", "PT30S", 60).is_err());
    }

    #[test]
    fn attributes_must_be_json_within_the_size() {
        assert!(attributes("A", r#"{"a":[1,2]}"#, 100).is_ok());
        assert!(attributes("A", "{nope", 100).is_err());
        assert!(attributes("A", &format!("\"{}\"", "x".repeat(200)), 100).is_err());
    }
}
