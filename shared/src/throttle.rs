//! A per-client limit on attempts (the public certificate check): in each process, a fixed
//! window per client (an IPv4 address, or an IPv6 /64, which one household or host holds).
//! Clients live in this process's memory only, and are forgotten once their window has passed
//! and room is needed; none is stored.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// How many clients a process remembers: beyond, it forgets those whose window has passed, and
/// if all are current, all of them (memory stays bounded under a flood of addresses).
const REMEMBERED: usize = 10_000;

pub struct PerClient {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (OffsetDateTime, u32)>>,
}

impl PerClient {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Whether `client` may try once more at `now`; if not, how long until it may. Requests
    /// whose address is unknown share one allowance.
    pub fn allow(&self, client: Option<IpAddr>, now: OffsetDateTime) -> Result<(), Duration> {
        let client = match client {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(IpAddr::V6(address)) => IpAddr::V6((u128::from(address) & !u128::from(u64::MAX)).into()),
            Some(address) => address,
        };
        let mut seen = self.seen.lock().expect("throttle lock");
        if seen.len() >= REMEMBERED {
            seen.retain(|_, (since, _)| now - *since < self.window);
            if seen.len() >= REMEMBERED {
                seen.clear();
            }
        }
        let (since, count) = seen.entry(client).or_insert((now, 0));
        if now - *since >= self.window {
            (*since, *count) = (now, 0);
        }
        if *count >= self.limit {
            return Err(*since + self.window - now);
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn each_client_has_its_own_allowance_per_window() {
        let limit = PerClient::new(3, Duration::minutes(1));
        let now = datetime!(2026-12-03 10:00 UTC);
        let (one, other): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limit.allow(Some(one), now), Ok(()));
        }
        assert_eq!(limit.allow(Some(one), now + Duration::seconds(20)), Err(Duration::seconds(40)));
        assert_eq!(limit.allow(Some(other), now), Ok(()), "another client is not held up");
        assert_eq!(limit.allow(Some(one), now + Duration::minutes(1)), Ok(()), "the next window");
        for _ in 0..3 {
            assert_eq!(limit.allow(None, now), Ok(()));
        }
        assert!(limit.allow(None, now).is_err(), "unknown addresses share one allowance");
        let neighbour: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        for _ in 0..2 {
            assert_eq!(limit.allow(Some(neighbour), now), Ok(()), "the rest of 2001:db8::1's allowance");
        }
        assert!(limit.allow(Some(neighbour), now).is_err(), "one IPv6 /64 is one client");
        assert_eq!(limit.allow(Some("2001:db8:0:1::1".parse().unwrap()), now), Ok(()), "the next /64 is another");
    }

    #[test]
    fn a_process_forgets_clients_whose_window_passed() {
        let limit = PerClient::new(1, Duration::minutes(1));
        let now = datetime!(2026-12-03 10:00 UTC);
        for i in 0..REMEMBERED as u32 {
            limit.allow(Some(IpAddr::V4(Ipv4Addr::from(i))), now).unwrap();
        }
        limit.allow(Some("198.51.100.7".parse().unwrap()), now + Duration::minutes(2)).unwrap();
        assert_eq!(limit.seen.lock().unwrap().len(), 1);
        // A flood of current addresses: memory stays bounded all the same.
        for i in 0..2 * REMEMBERED as u32 {
            let _ = limit.allow(Some(IpAddr::V4(Ipv4Addr::from(i))), now + Duration::minutes(2));
        }
        assert!(limit.seen.lock().unwrap().len() <= REMEMBERED);
    }
}
