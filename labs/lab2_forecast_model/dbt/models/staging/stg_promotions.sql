-- The promotion plan (optional input: an absent or header-only file leaves it empty).
with

source as (

    select * from {{ source('raw', 'promotions') }}

),

renamed as (

    select
        promo_id,
        sku,
        region,
        start_date,
        end_date,
        coalesce(discount_pct, 0)::decimal(5, 4) as discount_pct
    from source

)

select * from renamed
