with

source as (

    select * from {{ source('raw', 'promotions') }}

),

renamed as (

    select

        ----------  ids
        promo_id,
        sku,

        ----------  dates
        start_date,
        end_date,

        ----------  numerics
        coalesce(discount_pct, 0)::decimal(5, 4) as discount_pct

    from source

)

select * from renamed
