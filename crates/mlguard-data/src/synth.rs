//! A synthetic `user_data.csv`, for the demo and for tests.
//!
//! The same columns as the peer benchmark's generator (`shared/bench/gen_user_data.py`):
//! seven columns of personal data, twenty numeric features, two categoricals and a binary
//! `label` drawn from a logistic model of eleven features and both categoricals, with 2 %
//! of labels flipped. Deterministic for a given seed; not cryptographic (it does not need
//! to be: the data is fake by construction, and the SSNs use the never-issued 9xx area).

use std::io::{self, Write};

/// The column names, in order.
pub const USER_DATA_HEADER: &[&str] = &[
    "user_id",
    "full_name",
    "email",
    "phone",
    "ssn",
    "date_of_birth",
    "zip_code",
    "age",
    "income",
    "credit_score",
    "account_age_days",
    "tenure_months",
    "logins_30d",
    "sessions_30d",
    "page_views_30d",
    "avg_session_min",
    "purchases_90d",
    "avg_order_value",
    "cart_abandon_rate",
    "support_tickets_90d",
    "days_since_last_login",
    "email_open_rate",
    "click_rate",
    "refund_count",
    "device_count",
    "num_addresses",
    "risk_score",
    "region",
    "plan",
    "label",
];

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Emily",
    "Aisha",
    "Wei",
    "Sofia",
    "Mateo",
    "Priya",
    "Omar",
    "Yuki",
    "Lars",
    "Chiara",
    "Tomasz",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Kowalski",
    "Muller",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Haddad",
    "Chen",
    "Patel",
    "Novak",
    "Jensen",
];
const DOMAINS: &[&str] =
    &["example.com", "example.org", "example.net", "mail.test", "inbox.test", "corp.example"];
/// Levels of the `region` column.
pub const REGIONS: &[&str] = &["north", "south", "east", "west", "central"];
/// Levels of the `plan` column.
pub const PLANS: &[&str] = &["free", "basic", "pro", "enterprise"];
const REGION_EFFECT: [f64; 5] = [0.30, -0.20, 0.0, 0.15, -0.25];
const PLAN_EFFECT: [f64; 4] = [0.90, 0.30, -0.40, -1.20];
const PLAN_P: [f64; 4] = [0.40, 0.30, 0.20, 0.10];

/// A small deterministic generator (xoshiro256**, seeded by splitmix64).
#[derive(Debug, Clone)]
pub struct SynthRng([u64; 4]);

impl SynthRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SynthRng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SynthRng([next(), next(), next(), next()])
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [lo, hi).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson with mean `lambda` (Knuth; fine for the small means used here).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        let l = (-lambda.min(30.0)).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.uniform();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() as u64) as usize]
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Writes a header and `rows` rows of synthetic user data.
pub fn write_user_data<W: Write>(out: W, rows: u64, seed: u64) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let mut rng = SynthRng::new(seed);
    writeln!(out, "{}", USER_DATA_HEADER.join(","))?;
    // Reference date 2025-01-01 as days since 1970-01-01.
    const REF_DAYS: i64 = 20_089;
    for id in 1..=rows {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let domain = rng.pick(DOMAINS);
        let n = rng.range(1, 1000);
        let age_days =
            ((rng.normal() * 15.0 + 45.0) * 365.25).clamp(18.0 * 365.25, 85.0 * 365.25) as i64;
        let dob = chrono::DateTime::from_timestamp((REF_DAYS - age_days) * 86_400, 0)
            .map(|d| d.date_naive().to_string())
            .unwrap_or_else(|| "1980-01-01".into());
        let age = (age_days as f64 / 365.25).floor();
        let l: Vec<f64> = (0..8).map(|_| rng.normal()).collect();
        let credit = (680.0 + 70.0 * (0.8 * l[0] + 0.6 * rng.normal())).round().clamp(300.0, 850.0);
        let income = (10.9 + 0.45 * l[0] + 0.15 * (age - 45.0) / 15.0 + 0.3 * rng.normal()).exp();
        let acct = (1100.0 + 620.0 * l[1]).round().clamp(1.0, 4000.0);
        let tenure = (acct / 30.44 + 1.5 * rng.normal()).round().max(0.0);
        let eng = l[2];
        let logins = (14.0 + 7.0 * (0.85 * eng + 0.53 * rng.normal())).round().max(0.0);
        let sessions = (logins * 1.6 + 3.0 * rng.normal()).round().max(0.0);
        let pviews = (sessions * 5.5 + 12.0 * rng.normal()).round().max(0.0);
        let sess_min = (12.0 + 5.0 * (0.4 * eng + 0.92 * l[3])).max(0.5);
        let purch = (4.0 + 2.5 * (0.5 * eng + 0.87 * l[4])).round().max(0.0);
        let aov = (3.8 + 0.2 * l[0] + 0.5 * rng.normal()).exp();
        let cart = (0.45 + 0.18 * (-0.3 * eng + 0.95 * l[5])).clamp(0.0, 1.0);
        let tickets = rng.poisson((0.1 + 0.5 * l[6] - 0.2 * eng).exp()) as f64;
        let dsll = (20.0 + 15.0 * (-0.5 * eng + 0.87 * l[7])).round().clamp(0.0, 365.0);
        let open = (0.35 + 0.17 * (0.5 * eng + 0.87 * rng.normal())).clamp(0.0, 1.0);
        let click = (open * 0.3 + 0.03 * rng.normal()).clamp(0.0, 1.0);
        let refunds = rng.poisson(0.2 + 0.1 * purch) as f64;
        let devices = 1 + rng.poisson(1.2);
        let addrs = 1 + rng.poisson(0.4);
        let risk = rng.uniform() * 100.0;
        let region = rng.range(0, 5) as usize;
        let u = rng.uniform();
        let mut plan = 3;
        let mut acc = 0.0;
        for (i, p) in PLAN_P.iter().enumerate() {
            acc += p;
            if u < acc {
                plan = i;
                break;
            }
        }
        let std = |x: f64, m: f64, s: f64| (x - m) / s;
        let z = -0.9
            + 2.25
                * (1.00 * std(dsll, 20.0, 15.0) - 0.70 * std(logins, 14.0, 7.0)
                    + 0.60 * std(tickets, 1.5, 1.4)
                    + 0.45 * std(cart, 0.45, 0.18)
                    - 0.50 * std(purch, 4.0, 2.5)
                    - 0.40 * std(acct, 1100.0, 620.0)
                    - 0.30 * std(credit, 680.0, 70.0)
                    - 0.35 * std(sess_min, 12.0, 5.0)
                    + 0.20 * std(age, 45.0, 15.0)
                    - 0.30 * std(open, 0.35, 0.17)
                    + 0.25 * std(refunds, 0.6, 0.8))
            + REGION_EFFECT[region]
            + PLAN_EFFECT[plan];
        let mut label = u8::from(rng.uniform() < sigmoid(z));
        if rng.uniform() < 0.02 {
            label = 1 - label;
        }
        writeln!(
            out,
            "{id},{first} {last},{}.{}{n}@{domain},+1-{}-{}-{:04},{}-{:02}-{:04},{dob},{:05},{age},{income:.2},{credit},{acct},{tenure},{logins},{sessions},{pviews},{sess_min:.2},{purch},{aov:.2},{cart:.4},{tickets},{dsll},{open:.4},{click:.4},{refunds},{devices},{addrs},{risk:.3},{},{},{label}",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.range(200, 1000),
            rng.range(200, 1000),
            rng.range(0, 10_000),
            rng.range(900, 1000),
            rng.range(1, 100),
            rng.range(1, 10_000),
            rng.range(501, 99_951),
            REGIONS[region],
            PLANS[plan],
        )?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let mut a = Vec::new();
        write_user_data(&mut a, 200, 7).expect("write");
        let mut b = Vec::new();
        write_user_data(&mut b, 200, 7).expect("write");
        assert_eq!(a, b);
        let mut c = Vec::new();
        write_user_data(&mut c, 200, 8).expect("write");
        assert_ne!(a, c);
        let text = String::from_utf8(a).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 201);
        assert!(lines.iter().all(|l| l.split(',').count() == USER_DATA_HEADER.len()));
        let ones = lines[1..].iter().filter(|l| l.ends_with(",1")).count();
        assert!((20..180).contains(&ones), "both classes present: {ones}");
    }
}
