-- The database of a Vietnamese web shop, as the shop's own developers designed it.
-- segmento did not design it: the names are Vietnamese, genders are numeric codes,
-- times are naive local times (Asia/Ho_Chi_Minh), categories form a tree, and
-- returns are orders of their own with negative quantities.

CREATE TABLE danh_muc (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    ma_danh_muc VARCHAR(64) NOT NULL COMMENT 'slug, one level of the category path',
    ten_danh_muc VARCHAR(255) NOT NULL COMMENT 'name shown in the shop',
    danh_muc_cha_id INT UNSIGNED NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_danh_muc_cha FOREIGN KEY (danh_muc_cha_id) REFERENCES danh_muc (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE khach_hang (
    id INT UNSIGNED NOT NULL,
    ho_ten VARCHAR(255) NULL,
    email VARCHAR(255) NULL,
    gioi_tinh TINYINT NOT NULL DEFAULT 0 COMMENT '0 unknown, 1 male, 2 female, 3 other',
    ngay_sinh DATE NULL,
    thanh_pho VARCHAR(100) NULL,
    quoc_gia VARCHAR(100) NULL,
    ngay_tao DATETIME NOT NULL,
    ngay_cap_nhat DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_khach_hang_cap_nhat (ngay_cap_nhat, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE san_pham (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    ma_sp VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'stock code',
    ten_sp VARCHAR(255) NOT NULL,
    loai ENUM('hang_hoa', 'van_chuyen', 'phi', 'giam_gia', 'thu_cong', 'mau', 'dieu_chinh') NOT NULL DEFAULT 'hang_hoa',
    danh_muc_id INT UNSIGNED NULL,
    ngay_cap_nhat DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY uq_san_pham_ma (ma_sp),
    KEY ix_san_pham_cap_nhat (ngay_cap_nhat, id),
    CONSTRAINT fk_san_pham_danh_muc FOREIGN KEY (danh_muc_id) REFERENCES danh_muc (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE don_hang (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    ma_don VARCHAR(20) NOT NULL COMMENT 'invoice number shown to the customer',
    khach_hang_id INT UNSIGNED NULL COMMENT 'empty for a guest checkout',
    ngay_dat DATETIME NOT NULL COMMENT 'local time, Asia/Ho_Chi_Minh',
    trang_thai ENUM('cho_thanh_toan', 'da_giao', 'da_huy', 'tra_hang') NOT NULL,
    quoc_gia_giao VARCHAR(100) NULL,
    ngay_cap_nhat DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY uq_don_hang_ma (ma_don),
    KEY ix_don_hang_khach_hang (khach_hang_id),
    KEY ix_don_hang_cap_nhat (ngay_cap_nhat, id),
    CONSTRAINT fk_don_hang_khach_hang FOREIGN KEY (khach_hang_id) REFERENCES khach_hang (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE chi_tiet_don_hang (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    don_hang_id BIGINT UNSIGNED NOT NULL,
    san_pham_id INT UNSIGNED NOT NULL,
    so_luong INT NOT NULL,
    don_gia DECIMAL(12, 4) NOT NULL,
    ngay_cap_nhat DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_chi_tiet_don_hang (don_hang_id),
    KEY ix_chi_tiet_san_pham (san_pham_id),
    KEY ix_chi_tiet_cap_nhat (ngay_cap_nhat, id),
    CONSTRAINT fk_chi_tiet_don_hang FOREIGN KEY (don_hang_id) REFERENCES don_hang (id),
    CONSTRAINT fk_chi_tiet_san_pham FOREIGN KEY (san_pham_id) REFERENCES san_pham (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
