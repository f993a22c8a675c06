WITH "t11" AS (
  SELECT
    "t7"."order_id",
    "t7"."order_kind",
    "t7"."original_order_id",
    "t7"."customer_id",
    "t7"."ordered_at",
    "t7"."market",
    "t7"."country_code",
    "t7"."channel",
    "t7"."amount",
    "t7"."amount_reporting",
    "t10"."sale_id",
    "t10"."cancelled_amount"
  FROM (
    SELECT
      "t1"."order_id",
      "t1"."order_kind",
      "t1"."original_order_id",
      "t1"."customer_id",
      "t1"."ordered_at",
      "t1"."market",
      "t1"."country_code",
      "t1"."channel",
      "t1"."amount",
      "t1"."amount_reporting"
    FROM "orders" AS "t1"
    WHERE
      "t1"."ordered_at" < MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC')
      AND "t1"."customer_id" IS NOT NULL
      AND "t1"."order_kind" = 'sale'
  ) AS "t7"
  INNER JOIN (
    SELECT
      "t6"."original_order_id" AS "sale_id",
      SUM("t6"."amount") AS "cancelled_amount"
    FROM (
      SELECT
        "t1"."order_id",
        "t1"."order_kind",
        "t1"."original_order_id",
        "t1"."customer_id",
        "t1"."ordered_at",
        "t1"."market",
        "t1"."country_code",
        "t1"."channel",
        "t1"."amount",
        "t1"."amount_reporting"
      FROM "orders" AS "t1"
      WHERE
        "t1"."ordered_at" < MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC')
        AND "t1"."customer_id" IS NOT NULL
        AND "t1"."order_kind" = 'cancellation'
        AND "t1"."original_order_id" IS NOT NULL
    ) AS "t6"
    GROUP BY
      1
  ) AS "t10"
    ON "t7"."order_id" = "t10"."sale_id"
), "t17" AS (
  SELECT
    "t7"."order_id",
    "t7"."order_kind",
    "t7"."original_order_id",
    "t7"."customer_id",
    "t7"."ordered_at",
    "t7"."market",
    "t7"."country_code",
    "t7"."channel",
    "t7"."amount",
    "t7"."amount_reporting"
  FROM (
    SELECT
      "t1"."order_id",
      "t1"."order_kind",
      "t1"."original_order_id",
      "t1"."customer_id",
      "t1"."ordered_at",
      "t1"."market",
      "t1"."country_code",
      "t1"."channel",
      "t1"."amount",
      "t1"."amount_reporting"
    FROM "orders" AS "t1"
    WHERE
      "t1"."ordered_at" < MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC')
      AND "t1"."customer_id" IS NOT NULL
      AND "t1"."order_kind" = 'sale'
  ) AS "t7"
  ANTI JOIN (
    SELECT
      "t12"."order_id"
    FROM "t11" AS "t12"
    WHERE
      (
        "t12"."amount" + "t12"."cancelled_amount"
      ) <= 0
  ) AS "t15"
    ON "t7"."order_id" = "t15"."order_id"
)
SELECT
  "t32"."customer_id",
  "t32"."market",
  "t32"."country_code",
  "t32"."first_purchase_at",
  "t32"."last_purchase_at",
  "t32"."purchases",
  "t32"."frequency",
  "t32"."recency_days",
  "t32"."tenure_days",
  "t32"."days_since_last",
  "t32"."frequency_by_day",
  "t32"."recency_by_day",
  "t32"."tenure_by_day",
  "t32"."sales_value",
  "t32"."refunds",
  "t32"."refunds_value",
  "t32"."net_value",
  "t32"."monetary_mean",
  "t32"."monetary_repeat_mean",
  "t32"."r_score",
  "t32"."f_score",
  "t32"."m_score",
  CAST("t32"."r_score" AS TEXT) || CAST("t32"."f_score" AS TEXT) || CAST("t32"."m_score" AS TEXT) AS "rfm_cell",
  CASE
    WHEN "t32"."r_score" BETWEEN 5 AND 5
    AND "t32"."f_score" BETWEEN 4 AND 5
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Champions'
    WHEN "t32"."r_score" BETWEEN 3 AND 4
    AND "t32"."f_score" BETWEEN 4 AND 5
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Loyal'
    WHEN "t32"."r_score" BETWEEN 4 AND 5
    AND "t32"."f_score" BETWEEN 2 AND 3
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Potential loyalist'
    WHEN "t32"."r_score" BETWEEN 5 AND 5
    AND "t32"."f_score" BETWEEN 1 AND 1
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'New'
    WHEN "t32"."r_score" BETWEEN 4 AND 4
    AND "t32"."f_score" BETWEEN 1 AND 1
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Promising'
    WHEN "t32"."r_score" BETWEEN 3 AND 3
    AND "t32"."f_score" BETWEEN 3 AND 3
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Need attention'
    WHEN "t32"."r_score" BETWEEN 3 AND 3
    AND "t32"."f_score" BETWEEN 1 AND 2
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'About to sleep'
    WHEN "t32"."r_score" BETWEEN 1 AND 2
    AND "t32"."f_score" BETWEEN 5 AND 5
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Cannot lose'
    WHEN "t32"."r_score" BETWEEN 1 AND 2
    AND "t32"."f_score" BETWEEN 3 AND 4
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'At risk'
    WHEN "t32"."r_score" BETWEEN 2 AND 2
    AND "t32"."f_score" BETWEEN 1 AND 2
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Hibernating'
    WHEN "t32"."r_score" BETWEEN 1 AND 1
    AND "t32"."f_score" BETWEEN 1 AND 2
    AND "t32"."m_score" BETWEEN 1 AND 5
    THEN 'Lost'
    ELSE CAST(NULL AS TEXT)
  END AS "segment",
  CASE
    WHEN CAST("t32"."net_value" AS DOUBLE) > 500.0
    THEN 'high'
    WHEN CAST("t32"."net_value" AS DOUBLE) < 200.0
    THEN 'low'
    ELSE 'mid'
  END AS "value_tier",
  CASE
    WHEN "t32"."tenure_days" <= 30
    THEN 'new'
    WHEN "t32"."days_since_last" <= 90
    THEN 'active'
    WHEN "t32"."days_since_last" <= 180
    THEN 'at risk'
    WHEN "t32"."days_since_last" <= 365
    THEN 'dormant'
    ELSE 'churned'
  END AS "lifecycle_stage",
  MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC') AS "as_of"
FROM (
  SELECT
    "t31"."customer_id",
    "t31"."market",
    "t31"."country_code",
    "t31"."first_purchase_at",
    "t31"."last_purchase_at",
    "t31"."purchases",
    "t31"."frequency",
    "t31"."recency_days",
    "t31"."tenure_days",
    "t31"."days_since_last",
    "t31"."frequency_by_day",
    "t31"."recency_by_day",
    "t31"."tenure_by_day",
    "t31"."sales_value",
    "t31"."refunds",
    "t31"."refunds_value",
    "t31"."net_value",
    "t31"."monetary_mean",
    "t31"."monetary_repeat_mean",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY -(
              "t31"."days_since_last"
            ) ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT(-(
        "t31"."days_since_last"
      )) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "r_score",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY "t31"."purchases" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT("t31"."purchases") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "f_score",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY "t31"."net_value" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT("t31"."net_value") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "m_score"
  FROM (
    SELECT
      "t30"."customer_id",
      COALESCE("t30"."market", 'Unknown') AS "market",
      "t30"."country_code",
      "t30"."first_purchase_at",
      "t30"."last_purchase_at",
      "t30"."purchases",
      "t30"."purchases" - 1 AS "frequency",
      (
        CAST(EPOCH(CAST("t30"."last_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) - (
        CAST(EPOCH(CAST("t30"."first_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "recency_days",
      15218.0 - (
        CAST(EPOCH(CAST("t30"."first_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "tenure_days",
      15218.0 - (
        CAST(EPOCH(CAST("t30"."last_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "days_since_last",
      "t30"."purchase_days" - 1 AS "frequency_by_day",
      "t30"."last_day" - "t30"."first_day" AS "recency_by_day",
      15217 - "t30"."first_day" AS "tenure_by_day",
      "t30"."sales_value",
      COALESCE("t30"."refunds", 0) AS "refunds",
      COALESCE("t30"."refunds_value", 0) AS "refunds_value",
      "t30"."sales_value" - COALESCE("t30"."refunds_value", 0) AS "net_value",
      CAST("t30"."sales_value" - COALESCE("t30"."refunds_value", 0) AS DOUBLE) / "t30"."purchases" AS "monetary_mean",
      CASE
        WHEN (
          "t30"."purchases" - 1
        ) > 0
        THEN CAST("t30"."sales_value" - "t30"."first_sale_value" AS DOUBLE) / (
          "t30"."purchases" - 1
        )
        ELSE CAST(NULL AS DOUBLE)
      END AS "monetary_repeat_mean"
    FROM (
      SELECT
        "t23"."customer_id",
        "t23"."first_purchase_at",
        "t23"."last_purchase_at",
        "t23"."purchases",
        "t23"."sales_value",
        "t29"."purchase_days",
        "t29"."first_day",
        "t29"."last_day",
        "t26"."first_sale_value",
        "t24"."refunds",
        "t24"."refunds_value",
        "t3"."market",
        "t3"."country_code"
      FROM (
        SELECT
          "t19"."customer_id",
          MIN("t19"."ordered_at") AS "first_purchase_at",
          MAX("t19"."ordered_at") AS "last_purchase_at",
          COUNT("t19"."order_id") AS "purchases",
          SUM("t19"."amount_reporting") AS "sales_value"
        FROM "t17" AS "t19"
        GROUP BY
          1
      ) AS "t23"
      INNER JOIN (
        SELECT
          "t27"."customer_id",
          COUNT("t27"."day") AS "purchase_days",
          MIN("t27"."day") AS "first_day",
          MAX("t27"."day") AS "last_day"
        FROM (
          SELECT
            "t25"."customer_id",
            "t25"."day"
          FROM (
            SELECT
              "t19"."order_id",
              "t19"."order_kind",
              "t19"."original_order_id",
              "t19"."customer_id",
              "t19"."ordered_at",
              "t19"."market",
              "t19"."country_code",
              "t19"."channel",
              "t19"."amount",
              "t19"."amount_reporting",
              CAST(FLOOR(EPOCH(CAST("t19"."ordered_at" AS TIMESTAMP)) / 86400) AS BIGINT) AS "day"
            FROM "t17" AS "t19"
          ) AS "t25"
          GROUP BY
            1,
            2
        ) AS "t27"
        GROUP BY
          1
      ) AS "t29"
        ON "t23"."customer_id" = "t29"."customer_id"
      INNER JOIN (
        SELECT
          "t19"."customer_id",
          FIRST(
            "t19"."amount_reporting" ORDER BY {'ordered_at': "t19"."ordered_at", 'order_id': "t19"."order_id"}
          ) AS "first_sale_value"
        FROM "t17" AS "t19"
        GROUP BY
          1
      ) AS "t26"
        ON "t23"."customer_id" = "t26"."customer_id"
      LEFT OUTER JOIN (
        SELECT
          "t18"."customer_id",
          COUNT("t18"."order_id") AS "refunds",
          -(
            SUM("t18"."amount_reporting")
          ) AS "refunds_value"
        FROM (
          SELECT
            "t8"."order_id",
            "t8"."order_kind",
            "t8"."original_order_id",
            "t8"."customer_id",
            "t8"."ordered_at",
            "t8"."market",
            "t8"."country_code",
            "t8"."channel",
            "t8"."amount",
            "t8"."amount_reporting"
          FROM (
            SELECT
              "t1"."order_id",
              "t1"."order_kind",
              "t1"."original_order_id",
              "t1"."customer_id",
              "t1"."ordered_at",
              "t1"."market",
              "t1"."country_code",
              "t1"."channel",
              "t1"."amount",
              "t1"."amount_reporting"
            FROM "orders" AS "t1"
            WHERE
              "t1"."ordered_at" < MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC')
              AND "t1"."customer_id" IS NOT NULL
              AND "t1"."order_kind" IN ('return', 'cancellation')
          ) AS "t8"
          ANTI JOIN (
            SELECT
              "t12"."order_id" AS "voided_id"
            FROM "t11" AS "t12"
            WHERE
              (
                "t12"."amount" + "t12"."cancelled_amount"
              ) <= 0
          ) AS "t16"
            ON "t8"."original_order_id" = "t16"."voided_id"
        ) AS "t18"
        GROUP BY
          1
      ) AS "t24"
        ON "t23"."customer_id" = "t24"."customer_id"
      LEFT OUTER JOIN (
        SELECT
          "t0"."customer_id",
          "t0"."market",
          "t0"."country_code"
        FROM "customers" AS "t0"
      ) AS "t3"
        ON "t23"."customer_id" = "t3"."customer_id"
    ) AS "t30"
  ) AS "t31"
) AS "t32"
ORDER BY
  "t32"."customer_id" ASC
