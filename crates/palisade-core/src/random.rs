//! Randomness from the operating system's CSPRNG — the only source palisade uses for secrets,
//! tokens, nonces and ids.

use thiserror::Error;

/// The operating system could not provide random bytes.
#[derive(Debug, Clone, Error)]
#[error("the operating system's random number generator failed ({0}); do not retry with a weaker source")]
pub struct RandomError(String);

/// Fills `buf` from the OS CSPRNG.
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
}

/// `N` random bytes from the OS CSPRNG.
pub fn array<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_and_differs() {
        let a = super::array::<16>().unwrap();
        let b = super::array::<16>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 16]);
    }
}
