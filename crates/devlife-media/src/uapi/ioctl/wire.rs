//! The little-endian byte codec behind every `#[repr(C)]` mirror of the
//! uapi ([`Wire`]), and the `uapi_struct!` macro that derives it at the
//! kernel's offsets.

/// A fixed-size little-endian wire encoding of a uapi type (x86_64 layout).
///
/// Every `#[repr(C)]` mirror implements it through `uapi_struct!`
/// (crate-internal macro): fields are encoded at their `offset_of!` offsets
/// and every other byte (padding) is written as zero, so an encoded reply
/// never carries a byte nobody set.
pub trait Wire: Sized + Copy {
    /// Encoded size in bytes (equal to `size_of::<Self>()`, checked at compile time).
    const SIZE: usize;
    /// The all-zero value.
    const ZERO: Self;
    /// Decodes from exactly [`Self::SIZE`] bytes.
    ///
    /// Callers pass a slice of at least `SIZE` bytes; shorter input decodes
    /// as if zero-extended.
    fn decode(b: &[u8]) -> Self;
    /// Encodes into the first [`Self::SIZE`] bytes of `b` (ignored past its end).
    fn encode(&self, b: &mut [u8]);

    /// Decodes `out.len()` consecutive values (arrays); shorter input
    /// decodes as if zero-extended. Byte arrays override it with a copy.
    fn decode_slice(b: &[u8], out: &mut [Self]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = Self::decode(b.get(i * Self::SIZE..).unwrap_or(&[]));
        }
    }

    /// Encodes consecutive values (arrays), ignoring what does not fit.
    fn encode_slice(v: &[Self], b: &mut [u8]) {
        for (i, x) in v.iter().enumerate() {
            if let Some(dst) = b.get_mut(i * Self::SIZE..) {
                x.encode(dst);
            }
        }
    }

    /// Decodes a value if `b` holds at least [`Self::SIZE`] bytes.
    fn from_bytes(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::SIZE).then(|| Self::decode(b))
    }

    /// Encodes into a new vector of [`Self::SIZE`] bytes.
    fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; Self::SIZE];
        self.encode(&mut v);
        v
    }
}

fn le_bytes<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

fn put_bytes(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const ZERO: Self = 0;
            #[inline]
            fn decode(b: &[u8]) -> Self {
                <$t>::from_le_bytes(le_bytes(b))
            }
            #[inline]
            fn encode(&self, b: &mut [u8]) {
                put_bytes(b, &self.to_le_bytes());
            }
        }
    )*};
}
wire_int!(u16, u32, u64, i32, i64);

impl Wire for u8 {
    const SIZE: usize = 1;
    const ZERO: Self = 0;
    #[inline]
    fn decode(b: &[u8]) -> Self {
        b.first().copied().unwrap_or(0)
    }
    #[inline]
    fn encode(&self, b: &mut [u8]) {
        if let Some(d) = b.first_mut() {
            *d = *self;
        }
    }
    fn decode_slice(b: &[u8], out: &mut [Self]) {
        let n = out.len().min(b.len());
        out[..n].copy_from_slice(&b[..n]);
        out[n..].fill(0);
    }
    fn encode_slice(v: &[Self], b: &mut [u8]) {
        let n = v.len().min(b.len());
        b[..n].copy_from_slice(&v[..n]);
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    const SIZE: usize = T::SIZE * N;
    const ZERO: Self = [T::ZERO; N];
    fn decode(b: &[u8]) -> Self {
        let mut out = [T::ZERO; N];
        T::decode_slice(b, &mut out);
        out
    }
    fn encode(&self, b: &mut [u8]) {
        T::encode_slice(self, b);
    }
}

/// Copies `s` into a fixed `char[N]` field like the kernel's `strscpy`: at most
/// `N - 1` bytes, NUL-terminated, the rest zero. Truncation happens on a byte
/// boundary (as in C); [`get_str`] decodes lossily.
pub fn put_str(dst: &mut [u8], s: &str) {
    dst.fill(0);
    let n = s.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Reads a NUL-terminated `char[N]` field (lossy UTF-8; no NUL means all `N` bytes).
pub fn get_str(src: &[u8]) -> String {
    let end = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

/// Defines a `#[repr(C)]` uapi mirror with its wire codec and compile-time
/// layout checks: `size_of`, `align_of` and every field's `offset_of!` must
/// equal the numbers written in the invocation (taken from docs/uapi-sizes.txt).
///
/// ```ignore
/// uapi_struct! {
///     /// doc
///     #[repr(C)]
///     pub struct Foo: size 8, align 4 {
///         /// doc
///         @0 pub a: u32,
///         @4 pub b: u32,
///     }
/// }
/// ```
macro_rules! uapi_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : size $size:literal, align $align:literal {
            $( $(#[$fmeta:meta])* @ $off:literal pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = {
            assert!(::std::mem::size_of::<$name>() == $size, "size differs from docs/uapi-sizes.txt");
            assert!(::std::mem::align_of::<$name>() == $align, "alignment differs from docs/uapi-sizes.txt");
            $(
                assert!(::std::mem::offset_of!($name, $field) == $off, "field offset differs from docs/uapi-sizes.txt");
                assert!(<$ty as $crate::uapi::ioctl::Wire>::SIZE == ::std::mem::size_of::<$ty>());
                assert!($off + ::std::mem::size_of::<$ty>() <= $size);
            )*
        };

        impl $crate::uapi::ioctl::Wire for $name {
            const SIZE: usize = $size;
            const ZERO: Self = Self { $( $field: <$ty as $crate::uapi::ioctl::Wire>::ZERO, )* };
            fn decode(b: &[u8]) -> Self {
                Self {
                    $( $field: <$ty as $crate::uapi::ioctl::Wire>::decode(b.get($off..).unwrap_or(&[])), )*
                }
            }
            fn encode(&self, b: &mut [u8]) {
                let end = b.len().min($size);
                b[..end].fill(0);
                $(
                    {
                        let v: $ty = self.$field;
                        if let Some(dst) = b.get_mut($off..end) {
                            <$ty as $crate::uapi::ioctl::Wire>::encode(&v, dst);
                        }
                    }
                )*
            }
        }

        impl Default for $name {
            fn default() -> Self {
                <Self as $crate::uapi::ioctl::Wire>::ZERO
            }
        }
    };
}
pub(crate) use uapi_struct;
