-- Every staged sales line with the verdict of the cleaning rules: exclusion_reason is null for a
-- line that goes to int_sales, else the first rule it breaks (in the order of the case below).

with

sales as (

    select * from {{ ref('stg_sales') }}

),

stores as (

    select * from {{ ref('stg_stores') }}

),

products as (

    select * from {{ ref('stg_products') }}

),

ranked as (

    -- one copy per transaction_id survives: latest load, then the later file name;
    -- the remaining keys only make the order total when two copies sit in one file
    select
        *,
        row_number() over (
            partition by transaction_id
            order by
                _loaded_at desc,
                _source_file desc,
                sale_date, store_id, sku, units, unit_price, discount_pct, revenue, promo_id
        ) as copy_rank

    from sales

),

checked as (

    select

        ----------  ids
        ranked.transaction_id,
        ranked.copy_rank,
        ranked.store_id,
        ranked.sku,
        ranked.promo_id,

        ----------  dates
        ranked.sale_date,

        ----------  attributes
        stores.region,
        products.category,

        ----------  numerics
        ranked.units,
        ranked.unit_price,
        ranked.discount_pct,
        ranked.revenue,
        {{ expected_revenue('ranked.units', 'ranked.unit_price', 'ranked.discount_pct') }}
            as expected_revenue,

        ----------  verdict
        case
            when ranked.copy_rank > 1 then 'duplicate'
            when ranked.units <= 0 then 'non_positive_units'
            when stores.store_id is null then 'unknown_store'
            when products.sku is null then 'unknown_sku'
            when abs(
                ranked.revenue
                - {{ expected_revenue('ranked.units', 'ranked.unit_price', 'ranked.discount_pct') }}
            ) > 0.01 then 'revenue_mismatch'
        end as exclusion_reason,

        ----------  lineage
        ranked._source_file,
        ranked._loaded_at

    from ranked

    left join stores
        on ranked.store_id = stores.store_id

    left join products
        on ranked.sku = products.sku

)

select * from checked
