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
)
SELECT
  "t25"."customer_id",
  "t25"."market",
  "t25"."country_code",
  "t25"."first_purchase_at",
  "t25"."last_purchase_at",
  "t25"."purchases",
  "t25"."frequency",
  "t25"."recency_days",
  "t25"."tenure_days",
  "t25"."days_since_last",
  "t25"."frequency_by_day",
  "t25"."recency_by_day",
  "t25"."tenure_by_day",
  "t25"."sales_value",
  "t25"."refunds",
  "t25"."refunds_value",
  "t25"."net_value",
  "t25"."monetary_mean",
  "t25"."monetary_repeat_mean",
  "t25"."r_score",
  "t25"."f_score",
  "t25"."m_score",
  CAST("t25"."r_score" AS TEXT) || CAST("t25"."f_score" AS TEXT) || CAST("t25"."m_score" AS TEXT) AS "rfm_cell",
  CASE
    WHEN "t25"."r_score" BETWEEN 5 AND 5
    AND "t25"."f_score" BETWEEN 4 AND 5
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Champions'
    WHEN "t25"."r_score" BETWEEN 3 AND 4
    AND "t25"."f_score" BETWEEN 4 AND 5
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Loyal'
    WHEN "t25"."r_score" BETWEEN 4 AND 5
    AND "t25"."f_score" BETWEEN 2 AND 3
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Potential loyalist'
    WHEN "t25"."r_score" BETWEEN 5 AND 5
    AND "t25"."f_score" BETWEEN 1 AND 1
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'New'
    WHEN "t25"."r_score" BETWEEN 4 AND 4
    AND "t25"."f_score" BETWEEN 1 AND 1
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Promising'
    WHEN "t25"."r_score" BETWEEN 3 AND 3
    AND "t25"."f_score" BETWEEN 3 AND 3
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Need attention'
    WHEN "t25"."r_score" BETWEEN 3 AND 3
    AND "t25"."f_score" BETWEEN 1 AND 2
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'About to sleep'
    WHEN "t25"."r_score" BETWEEN 1 AND 2
    AND "t25"."f_score" BETWEEN 5 AND 5
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Cannot lose'
    WHEN "t25"."r_score" BETWEEN 1 AND 2
    AND "t25"."f_score" BETWEEN 3 AND 4
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'At risk'
    WHEN "t25"."r_score" BETWEEN 2 AND 2
    AND "t25"."f_score" BETWEEN 1 AND 2
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Hibernating'
    WHEN "t25"."r_score" BETWEEN 1 AND 1
    AND "t25"."f_score" BETWEEN 1 AND 2
    AND "t25"."m_score" BETWEEN 1 AND 5
    THEN 'Lost'
    ELSE CAST(NULL AS TEXT)
  END AS "segment",
  CASE
    WHEN CAST("t25"."net_value" AS DOUBLE) > 500.0
    THEN 'high'
    WHEN CAST("t25"."net_value" AS DOUBLE) < 200.0
    THEN 'low'
    ELSE 'mid'
  END AS "value_tier",
  CASE
    WHEN "t25"."tenure_days" <= 30
    THEN 'new'
    WHEN "t25"."days_since_last" <= 90
    THEN 'active'
    WHEN "t25"."days_since_last" <= 180
    THEN 'at risk'
    WHEN "t25"."days_since_last" <= 365
    THEN 'dormant'
    ELSE 'churned'
  END AS "lifecycle_stage",
  MAKE_TIMESTAMPTZ(2011, 9, 1, 0, 0, 0.0, 'UTC') AS "as_of"
FROM (
  SELECT
    "t24"."customer_id",
    "t24"."market",
    "t24"."country_code",
    "t24"."first_purchase_at",
    "t24"."last_purchase_at",
    "t24"."purchases",
    "t24"."frequency",
    "t24"."recency_days",
    "t24"."tenure_days",
    "t24"."days_since_last",
    "t24"."frequency_by_day",
    "t24"."recency_by_day",
    "t24"."tenure_by_day",
    "t24"."sales_value",
    "t24"."refunds",
    "t24"."refunds_value",
    "t24"."net_value",
    "t24"."monetary_mean",
    "t24"."monetary_repeat_mean",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY -(
              "t24"."days_since_last"
            ) ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT(-(
        "t24"."days_since_last"
      )) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "r_score",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY "t24"."purchases" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT("t24"."purchases") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "f_score",
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY "t24"."net_value" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / COUNT("t24"."net_value") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS BIGINT) + 1 AS "m_score"
  FROM (
    SELECT
      "t23"."customer_id",
      COALESCE("t23"."market", 'Unknown') AS "market",
      "t23"."country_code",
      "t23"."first_purchase_at",
      "t23"."last_purchase_at",
      "t23"."purchases",
      "t23"."purchases" - 1 AS "frequency",
      (
        CAST(EPOCH(CAST("t23"."last_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) - (
        CAST(EPOCH(CAST("t23"."first_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "recency_days",
      15218.0 - (
        CAST(EPOCH(CAST("t23"."first_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "tenure_days",
      15218.0 - (
        CAST(EPOCH(CAST("t23"."last_purchase_at" AS TIMESTAMP)) AS DOUBLE) / 86400
      ) AS "days_since_last",
      "t23"."purchase_days" - 1 AS "frequency_by_day",
      "t23"."last_day" - "t23"."first_day" AS "recency_by_day",
      15217 - "t23"."first_day" AS "tenure_by_day",
      "t23"."sales_value",
      COALESCE("t23"."refunds", 0) AS "refunds",
      COALESCE("t23"."refunds_value", 0) AS "refunds_value",
      "t23"."sales_value" - COALESCE("t23"."refunds_value", 0) AS "net_value",
      CAST("t23"."sales_value" - COALESCE("t23"."refunds_value", 0) AS DOUBLE) / "t23"."purchases" AS "monetary_mean",
      CASE
        WHEN (
          "t23"."purchases" - 1
        ) > 0
        THEN CAST("t23"."sales_value" - "t23"."first_sale_value" AS DOUBLE) / (
          "t23"."purchases" - 1
        )
        ELSE CAST(NULL AS DOUBLE)
      END AS "monetary_repeat_mean"
    FROM (
      SELECT
        "t22"."customer_id",
        "t22"."first_purchase_at",
        "t22"."last_purchase_at",
        "t22"."purchases",
        "t22"."purchase_days",
        "t22"."first_day",
        "t22"."last_day",
        "t22"."sales_value",
        "t22"."first_sale_value",
        "t20"."refunds",
        "t20"."refunds_value",
        "t3"."market",
        "t3"."country_code"
      FROM (
        SELECT
          "t17"."customer_id",
          MIN("t17"."ordered_at") AS "first_purchase_at",
          MAX("t17"."ordered_at") AS "last_purchase_at",
          COUNT("t17"."order_id") AS "purchases",
          COUNT(
            DISTINCT CAST(FLOOR(EPOCH(CAST("t17"."ordered_at" AS TIMESTAMP)) / 86400) AS BIGINT)
          ) AS "purchase_days",
          MIN(CAST(FLOOR(EPOCH(CAST("t17"."ordered_at" AS TIMESTAMP)) / 86400) AS BIGINT)) AS "first_day",
          MAX(CAST(FLOOR(EPOCH(CAST("t17"."ordered_at" AS TIMESTAMP)) / 86400) AS BIGINT)) AS "last_day",
          SUM("t17"."amount_reporting") AS "sales_value",
          FIRST(
            "t17"."amount_reporting" ORDER BY {'ordered_at': "t17"."ordered_at", 'order_id': "t17"."order_id"}
          ) AS "first_sale_value"
        FROM (
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
        ) AS "t17"
        GROUP BY
          1
      ) AS "t22"
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
      ) AS "t20"
        ON "t22"."customer_id" = "t20"."customer_id"
      LEFT OUTER JOIN (
        SELECT
          "t0"."customer_id",
          "t0"."market",
          "t0"."country_code"
        FROM "customers" AS "t0"
      ) AS "t3"
        ON "t22"."customer_id" = "t3"."customer_id"
    ) AS "t23"
  ) AS "t24"
) AS "t25"
ORDER BY
  "t25"."customer_id" ASC
