//! [`CtrlConfig`]: how a driver describes one control
//! (`v4l2_ctrl_new_std`, `v4l2_ctrl_new_std_menu_items`,
//! `v4l2_ctrl_new_custom` with a `struct v4l2_ctrl_config`), and the
//! checks the core applies before adding it (`check_range`).

use super::std::{std_ctrl, std_menu};
use crate::uapi::controls::{ctrl_flag, ctrl_type as ty};
use devlife_model::{Errno, KResult};
use std::borrow::Cow;

/// The names of a menu's items, by index. Drivers' menus are static tables,
/// so a probe borrows them instead of copying every item.
pub type MenuItems = Cow<'static, [&'static str]>;

/// One control as a driver declares it.
///
/// # Invariants
///
/// A config accepted by [`CtrlConfig::resolve`] has a type, a non-empty name
/// of at most 31 bytes, a range valid for its type and a default inside it;
/// class and button controls have an all-zero range. Names and menus are
/// borrowed from the driver's static tables where it has them, so
/// describing and resolving a control allocates no text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtrlConfig {
    /// Control id (`V4L2_CID_*` or a driver id).
    pub id: u32,
    /// Name; `None` takes the standard name.
    pub name: Option<Cow<'static, str>>,
    /// `V4L2_CTRL_TYPE_*`; `None` takes the standard type.
    pub type_: Option<u32>,
    /// Smallest value the control accepts.
    pub min: i64,
    /// Largest value the control accepts.
    pub max: i64,
    /// Step (for menus: unused, see `menu_skip_mask`).
    pub step: u64,
    /// Value at creation and after a reset.
    pub def: i64,
    /// Extra `V4L2_CTRL_FLAG_*` (the standard ones are added).
    pub flags: u32,
    /// Menu item names (`MENU`); empty takes the standard menu.
    pub menu: MenuItems,
    /// Menu item values (`INTEGER_MENU`).
    pub int_menu: Vec<i64>,
    /// Menu items that do not exist (bit `i` hides item `i`).
    pub menu_skip_mask: u64,
}

impl CtrlConfig {
    /// A standard control with its range (`v4l2_ctrl_new_std`).
    pub fn std(id: u32, min: i64, max: i64, step: u64, def: i64) -> Self {
        Self {
            id,
            name: None,
            type_: None,
            min,
            max,
            step,
            def,
            flags: 0,
            menu: Cow::Borrowed(&[]),
            int_menu: Vec::new(),
            menu_skip_mask: 0,
        }
    }

    /// A standard menu control with the driver's items
    /// (`v4l2_ctrl_new_std_menu_items`).
    pub fn std_menu_items(id: u32, items: &'static [&'static str], skip: u64, def: i64) -> Self {
        Self {
            menu: Cow::Borrowed(items),
            menu_skip_mask: skip,
            ..Self::std(id, 0, items.len() as i64 - 1, 0, def)
        }
    }

    /// A driver control (`v4l2_ctrl_new_custom`).
    pub fn custom(
        id: u32,
        name: impl Into<Cow<'static, str>>,
        type_: u32,
        min: i64,
        max: i64,
        step: u64,
        def: i64,
    ) -> Self {
        Self {
            name: Some(name.into()),
            type_: Some(type_),
            ..Self::std(id, min, max, step, def)
        }
    }

    /// A driver menu control: items `0..items.len()`, default `def`.
    pub fn custom_menu(
        id: u32,
        name: impl Into<Cow<'static, str>>,
        items: &'static [&'static str],
        def: i64,
    ) -> Self {
        Self {
            menu: Cow::Borrowed(items),
            ..Self::custom(id, name, ty::MENU, 0, items.len() as i64 - 1, 0, def)
        }
    }

    /// A driver integer menu control.
    pub fn custom_int_menu(
        id: u32,
        name: impl Into<Cow<'static, str>>,
        values: &[i64],
        def: i64,
    ) -> Self {
        Self {
            int_menu: values.to_vec(),
            ..Self::custom(
                id,
                name,
                ty::INTEGER_MENU,
                0,
                values.len() as i64 - 1,
                0,
                def,
            )
        }
    }

    /// A control class control (`V4L2_CTRL_TYPE_CTRL_CLASS`), e.g. a
    /// driver-specific class.
    pub fn class(id: u32, name: impl Into<Cow<'static, str>>) -> Self {
        Self::custom(id, name, ty::CTRL_CLASS, 0, 0, 0, 0)
    }

    /// A button (`V4L2_CTRL_TYPE_BUTTON`).
    pub fn button(id: u32, name: impl Into<Cow<'static, str>>) -> Self {
        Self::custom(id, name, ty::BUTTON, 0, 0, 0, 0)
    }

    /// Adds `V4L2_CTRL_FLAG_*` bits.
    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }

    /// Fills in what the core supplies (standard name, type, flags and
    /// menu; the fixed flags and zero range of classes and buttons) and
    /// checks the result (`EINVAL` for an unknown standard id, a bad name
    /// or menu, `ERANGE` for a bad range, as `check_range`).
    pub fn resolve(&self) -> KResult<ResolvedCtrl> {
        let std = std_ctrl(self.id);
        let type_ = self.type_.or(std.map(|s| s.type_)).ok_or(Errno::EINVAL)?;
        let name = match (&self.name, std) {
            (Some(n), _) => n.clone(),
            (None, Some(s)) => Cow::Borrowed(s.name),
            (None, None) => return Err(Errno::EINVAL),
        };
        if name.is_empty() || name.len() > 31 || self.id & !ctrl_flag::ID_MASK != 0 || self.id == 0
        {
            return Err(Errno::EINVAL);
        }
        let mut flags = self.flags | std.map_or(0, |s| s.flags);
        let (mut min, mut max, mut step, mut def) = (self.min, self.max, self.step, self.def);
        let mut menu = self.menu.clone();
        match type_ {
            ty::CTRL_CLASS => {
                flags |= ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY;
                (min, max, step, def) = (0, 0, 0, 0);
            }
            ty::BUTTON => {
                flags |= ctrl_flag::WRITE_ONLY | ctrl_flag::EXECUTE_ON_WRITE;
                (min, max, step, def) = (0, 0, 0, 0);
            }
            ty::BOOLEAN => {
                if step != 1 || max > 1 || min < 0 || min > max || def < min || def > max {
                    return Err(Errno::ERANGE);
                }
            }
            ty::INTEGER | ty::INTEGER64 => {
                if step == 0 || min > max || def < min || def > max {
                    return Err(Errno::ERANGE);
                }
                if type_ == ty::INTEGER && (min < i64::from(i32::MIN) || max > i64::from(i32::MAX))
                {
                    return Err(Errno::ERANGE);
                }
            }
            ty::BITMASK => {
                if step != 0 || min != 0 || max == 0 || def & !max != 0 {
                    return Err(Errno::ERANGE);
                }
            }
            ty::MENU | ty::INTEGER_MENU => {
                if type_ == ty::MENU && menu.is_empty() {
                    menu = Cow::Borrowed(std_menu(self.id).ok_or(Errno::EINVAL)?);
                }
                let items = if type_ == ty::MENU {
                    menu.len()
                } else {
                    self.int_menu.len()
                };
                if min > max || def < min || def > max || min < 0 || max >= items as i64 {
                    return Err(Errno::ERANGE);
                }
                if def < 64 && self.menu_skip_mask & (1 << def) != 0 {
                    return Err(Errno::EINVAL);
                }
                step = 1;
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(ResolvedCtrl {
            id: self.id,
            name,
            type_,
            min,
            max,
            step,
            def,
            flags,
            menu,
            int_menu: self.int_menu.clone(),
            menu_skip_mask: self.menu_skip_mask,
        })
    }
}

/// A checked control description (what `struct v4l2_ctrl` holds besides
/// its values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedCtrl {
    /// The control id (`V4L2_CID_*`, or a driver-private id).
    pub id: u32,
    /// The name `VIDIOC_QUERYCTRL` reports.
    pub name: Cow<'static, str>,
    /// `V4L2_CTRL_TYPE_*`.
    pub type_: u32,
    /// Smallest value the control accepts.
    pub min: i64,
    /// Largest value the control accepts.
    pub max: i64,
    /// Granularity: accepted values are `min + k * step`.
    pub step: u64,
    /// Value at creation and after a reset.
    pub def: i64,
    /// Static `V4L2_CTRL_FLAG_*`.
    pub flags: u32,
    /// Names of the menu entries, by index (menu controls only).
    pub menu: MenuItems,
    /// Integer menu values.
    pub int_menu: Vec<i64>,
    /// Hidden menu items.
    pub menu_skip_mask: u64,
}

impl ResolvedCtrl {
    /// Whether the value is a 32-bit integer (`is_int`): every type
    /// devlife models except `INTEGER64`.
    pub fn is_int(&self) -> bool {
        self.type_ != ty::INTEGER64
    }

    /// Size of one element (`elem_size`).
    pub fn elem_size(&self) -> u32 {
        if self.type_ == ty::INTEGER64 { 8 } else { 4 }
    }

    /// Whether menu item `i` exists (in range, not skipped, named).
    pub fn menu_item_valid(&self, i: i64) -> bool {
        if i < self.min || i > self.max {
            return false;
        }
        if i < 64 && self.menu_skip_mask & (1 << i) != 0 {
            return false;
        }
        match self.type_ {
            ty::MENU => self.menu.get(i as usize).is_some_and(|s| !s.is_empty()),
            ty::INTEGER_MENU => (i as usize) < self.int_menu.len(),
            _ => false,
        }
    }

    /// `std_validate` of a new value: integers are rounded to the step and
    /// clamped, booleans normalised, bitmasks masked; a menu value out of
    /// range is `ERANGE`, a missing item `EINVAL`.
    pub fn validate(&self, v: i64) -> KResult<i64> {
        match self.type_ {
            ty::INTEGER | ty::INTEGER64 => Ok(round_to_range(v, self.min, self.max, self.step)),
            ty::BOOLEAN => Ok(i64::from(v != 0)),
            ty::MENU | ty::INTEGER_MENU => {
                if v < self.min || v > self.max {
                    Err(Errno::ERANGE)
                } else if self.menu_item_valid(v) {
                    Ok(v)
                } else {
                    Err(Errno::EINVAL)
                }
            }
            ty::BITMASK => Ok(v & self.max),
            _ => Ok(0),
        }
    }
}

/// `ROUND_TO_RANGE`: round to the nearest step from `min`, clamped.
fn round_to_range(v: i64, min: i64, max: i64, step: u64) -> i64 {
    let (v, min, max, step) = (
        i128::from(v),
        i128::from(min),
        i128::from(max),
        i128::from(step.max(1)),
    );
    let half = step / 2;
    let v = if max >= 0 && v >= max - half {
        max
    } else {
        v + half
    };
    let v = v.clamp(min, max);
    let off = (v - min) / step * step;
    i64::try_from(min + off).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::controls::cid;

    #[test]
    fn std_controls_take_the_core_description() {
        let r = CtrlConfig::std(cid::HUE, -128, 127, 1, 0)
            .resolve()
            .unwrap();
        assert_eq!(r.name, "Hue");
        assert_eq!(r.type_, ty::INTEGER);
        assert_eq!(r.flags, ctrl_flag::SLIDER);
        assert_eq!(
            CtrlConfig::std(0x0098_0999, 0, 1, 1, 0).resolve(),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            CtrlConfig::std(cid::HUE, 5, 1, 1, 0).resolve(),
            Err(Errno::ERANGE)
        );
        assert_eq!(
            CtrlConfig::std(cid::HFLIP, 0, 2, 1, 0).resolve(),
            Err(Errno::ERANGE)
        );
        let c = CtrlConfig::class(0x00f0_0001, "VIMC Controls")
            .resolve()
            .unwrap();
        assert_eq!(c.flags, ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY);
    }

    #[test]
    fn validation_rounds_and_rejects_like_std_validate() {
        let r = CtrlConfig::custom(0x00f0_f001, "W", ty::INTEGER, 1, 25, 2, 3)
            .resolve()
            .unwrap();
        assert_eq!(r.validate(2), Ok(3));
        assert_eq!(r.validate(0), Ok(1));
        assert_eq!(r.validate(100), Ok(25));
        assert_eq!(r.validate(24), Ok(25));
        let m = CtrlConfig::custom_menu(0x00f0_f000, "M", &["a", "", "c"], 0)
            .resolve()
            .unwrap();
        assert_eq!(m.validate(3), Err(Errno::ERANGE));
        assert_eq!(m.validate(1), Err(Errno::EINVAL));
        assert_eq!(m.validate(2), Ok(2));
        let b = CtrlConfig::std(cid::VFLIP, 0, 1, 1, 0).resolve().unwrap();
        assert_eq!(b.validate(7), Ok(1));
    }
}
