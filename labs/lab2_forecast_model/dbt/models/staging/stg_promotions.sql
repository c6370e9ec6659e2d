with

source as (

    select * from {{ source('raw', 'promotions') }}

),

renamed as (

    select
        promo_id,
        sku,
        region,
        start_week,
        end_week,
        coalesce(discount_pct, 0)::decimal(5, 4) as discount_pct
    from source

)

select * from renamed
